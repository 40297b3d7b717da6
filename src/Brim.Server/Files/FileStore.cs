using Brim.Server.Batches;
using Microsoft.Data.Sqlite;

namespace Brim.Server.Files;

/// <summary>
/// Files of the Files API: metadata rows in the database, contents as <c>files/&lt;id&gt;</c> under the data
/// directory. A file's bytes are written (and flushed) before its row is committed, so every row has its content.
/// Content being written lives in a temp file (<see cref="TempPath"/>) until it is complete; one a crash interrupted
/// is deleted when the store opens.
/// </summary>
internal sealed class FileStore
{
    private const string TempPrefix = ".upload-";

    private readonly BatchDatabase _database;
    private readonly string _directory;

    public FileStore(BatchDatabase database, string dataDirectory)
    {
        _database = database;
        _directory = Directory.CreateDirectory(Path.Combine(dataDirectory, "files")).FullName;
        AbandonedTempFilesRemoved = RemoveAbandonedTempFiles();
    }

    /// <summary>How many half-written temp files a previous process left behind and the store deleted when it opened.</summary>
    public int AbandonedTempFilesRemoved { get; }

    public string PathOf(string id)
    {
        // Ids come from URLs: refuse anything that could leave the files directory.
        if (id.Length is 0 or > 100 || !id.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_'))
        {
            throw new ArgumentException($"'{id}' is not a file id", nameof(id));
        }

        return Path.Combine(_directory, id);
    }

    /// <summary>A fresh path for content being written before its row exists (renamed by <see cref="Commit"/>).</summary>
    public string TempPath() => Path.Combine(_directory, TempPrefix + Guid.NewGuid().ToString("N"));

    /// <summary>Moves fully written content to its id's path and records the file.</summary>
    public StoredFile Commit(string tempPath, string filename, string purpose, string? id = null)
    {
        var file = new StoredFile(id ?? StoredFile.NewId(), new FileInfo(tempPath).Length, ServerContext.UnixNow(), filename, purpose);
        File.Move(tempPath, PathOf(file.Id), overwrite: true);
        _database.InTransaction((connection, transaction) => Insert(connection, transaction, file));
        return file;
    }

    /// <summary>Records a file whose content is already at its id's path, inside the caller's transaction.</summary>
    public static void Insert(SqliteConnection connection, SqliteTransaction transaction, StoredFile file)
    {
        using var insert = connection.Command(
            "INSERT OR REPLACE INTO files (id, bytes, created_at, filename, purpose) VALUES ($id, $bytes, $created, $name, $purpose)",
            transaction, ("$id", file.Id), ("$bytes", file.Bytes), ("$created", file.CreatedAt), ("$name", file.Filename), ("$purpose", file.Purpose));
        insert.ExecuteNonQuery();
    }

    public StoredFile? Get(string id) => _database.Read(connection =>
    {
        using var select = connection.Command("SELECT id, bytes, created_at, filename, purpose FROM files WHERE id = $id", null, ("$id", id));
        using var reader = select.ExecuteReader();
        return reader.Read() ? ReadFile(reader) : null;
    });

    /// <summary>Files newest first, optionally of one purpose, at most <paramref name="limit"/> after the cursor id.</summary>
    public List<StoredFile> List(string? purpose, int limit, string? after) => _database.Read(connection =>
    {
        using var select = connection.Command(
            """
            SELECT id, bytes, created_at, filename, purpose FROM files
            WHERE ($purpose IS NULL OR purpose = $purpose)
              AND ($after IS NULL OR (created_at, id) < (SELECT created_at, id FROM files WHERE id = $after))
            ORDER BY created_at DESC, id DESC LIMIT $limit
            """,
            null, ("$purpose", purpose), ("$after", after), ("$limit", limit));
        using var reader = select.ExecuteReader();
        var files = new List<StoredFile>();
        while (reader.Read())
        {
            files.Add(ReadFile(reader));
        }

        return files;
    });

    public bool Delete(string id)
    {
        var deleted = _database.InTransaction((connection, transaction) =>
        {
            using var delete = connection.Command("DELETE FROM files WHERE id = $id", transaction, ("$id", id));
            return delete.ExecuteNonQuery() == 1;
        });
        if (deleted)
        {
            File.Delete(PathOf(id));
        }

        return deleted;
    }

    /// <summary>
    /// Deletes the temp files of uploads and batch finalizations that never completed. Only this process writes
    /// temp files, and it has written none yet, so every one found now was abandoned by a crash. Only names
    /// <see cref="TempPath"/> gives are touched (the prefix and 32 hex digits); anything else in the directory stays.
    /// </summary>
    private int RemoveAbandonedTempFiles()
    {
        var removed = 0;
        foreach (var path in Directory.EnumerateFiles(_directory, TempPrefix + "*"))
        {
            var suffix = Path.GetFileName(path.AsSpan())[TempPrefix.Length..];
            if (suffix.Length == 32 && !suffix.ContainsAnyExcept("0123456789abcdef"))
            {
                File.Delete(path);
                removed++;
            }
        }

        return removed;
    }

    private static StoredFile ReadFile(SqliteDataReader reader) =>
        new(reader.GetString(0), reader.GetInt64(1), reader.GetInt64(2), reader.GetString(3), reader.GetString(4));
}
