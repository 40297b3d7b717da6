using Microsoft.Data.Sqlite;

namespace Brim.Server.Batches;

/// <summary>
/// The SQLite file (WAL mode) under the data directory that holds file metadata, batches and per-line results.
/// One connection, used under one lock: writes are small (one row per finished line) and SQLite serializes writers
/// anyway, so a pool would buy nothing but contention. WAL with synchronous=NORMAL survives a process crash
/// (kill -9): a committed transaction is in the WAL file before the commit returns.
/// </summary>
internal sealed class BatchDatabase : IDisposable
{
    public const string FileName = "brim.db";

    private const string Schema = """
        CREATE TABLE IF NOT EXISTS files (
            id TEXT PRIMARY KEY, bytes INTEGER NOT NULL, created_at INTEGER NOT NULL,
            filename TEXT NOT NULL, purpose TEXT NOT NULL);
        CREATE TABLE IF NOT EXISTS batches (
            id TEXT PRIMARY KEY, endpoint TEXT NOT NULL, input_file_id TEXT NOT NULL, completion_window TEXT NOT NULL,
            status TEXT NOT NULL, metadata TEXT, errors TEXT, output_file_id TEXT, error_file_id TEXT,
            created_at INTEGER NOT NULL, expires_at INTEGER NOT NULL, in_progress_at INTEGER, finalizing_at INTEGER,
            completed_at INTEGER, failed_at INTEGER, cancelling_at INTEGER, cancelled_at INTEGER,
            total INTEGER NOT NULL DEFAULT 0, completed INTEGER NOT NULL DEFAULT 0, failed INTEGER NOT NULL DEFAULT 0,
            expired_at INTEGER);
        CREATE TABLE IF NOT EXISTS batch_lines (
            batch_id TEXT NOT NULL, line INTEGER NOT NULL, custom_id TEXT, body TEXT,
            state INTEGER NOT NULL, result TEXT,
            PRIMARY KEY (batch_id, line)) WITHOUT ROWID;
        """;

    private readonly SqliteConnection _connection;
    private readonly Lock _lock = new();
    private bool _disposed;

    public BatchDatabase(string dataDirectory)
    {
        Directory.CreateDirectory(dataDirectory);
        var path = Path.Combine(dataDirectory, FileName);
        _connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = path, Pooling = false }.ToString());
        _connection.Open();
        Execute("PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA busy_timeout=5000;");
        Execute(Schema);
        AddColumnIfMissing("batches", "expired_at", "INTEGER"); // databases written before batches could expire
    }

    /// <summary>Runs <paramref name="work"/> in one transaction under the connection's lock.</summary>
    public T InTransaction<T>(Func<SqliteConnection, SqliteTransaction, T> work)
    {
        lock (_lock)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            using var transaction = _connection.BeginTransaction();
            var result = work(_connection, transaction);
            transaction.Commit();
            return result;
        }
    }

    public void InTransaction(Action<SqliteConnection, SqliteTransaction> work) =>
        InTransaction((c, t) =>
        {
            work(c, t);
            return 0;
        });

    /// <summary>Runs a read under the lock (no transaction: one statement reads a consistent snapshot).</summary>
    public T Read<T>(Func<SqliteConnection, T> read)
    {
        lock (_lock)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            return read(_connection);
        }
    }

    private void AddColumnIfMissing(string table, string column, string type)
    {
        using var info = _connection.Command($"SELECT COUNT(*) FROM pragma_table_info('{table}') WHERE name = $column", null, ("$column", column));
        if ((long)info.ExecuteScalar()! == 0)
        {
            Execute($"ALTER TABLE {table} ADD COLUMN {column} {type}");
        }
    }

    private void Execute(string sql)
    {
        using var command = _connection.CreateCommand();
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }

    /// <summary>
    /// Closes the connection under the lock: a line result still being written on another thread (an engine callback
    /// at shutdown) finishes its transaction first, instead of the connection closing under it; later calls throw
    /// ObjectDisposedException rather than failing inside SQLite.
    /// </summary>
    public void Dispose()
    {
        lock (_lock)
        {
            _disposed = true;
            _connection.Dispose();
        }
    }
}

/// <summary>Small helpers that keep the SQL call sites short.</summary>
internal static class SqliteCommands
{
    public static SqliteCommand Command(this SqliteConnection connection, string sql, SqliteTransaction? transaction = null, params (string Name, object? Value)[] parameters)
    {
        var command = connection.CreateCommand();
        command.CommandText = sql;
        command.Transaction = transaction;
        foreach (var (name, value) in parameters)
        {
            command.Parameters.AddWithValue(name, value ?? DBNull.Value);
        }

        return command;
    }

    public static string? NullableString(this SqliteDataReader reader, int ordinal) => reader.IsDBNull(ordinal) ? null : reader.GetString(ordinal);

    public static long? NullableInt64(this SqliteDataReader reader, int ordinal) => reader.IsDBNull(ordinal) ? null : reader.GetInt64(ordinal);
}
