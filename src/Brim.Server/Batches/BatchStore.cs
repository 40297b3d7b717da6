using Brim.Server.Files;
using Microsoft.Data.Sqlite;

namespace Brim.Server.Batches;

/// <summary>One input line waiting to run: where it is in the input and the request body it carries.</summary>
internal readonly record struct PendingLine(int Line, string CustomId, string Body);

/// <summary>A line as validation left it: a pending request, or a failure with its error-file line already built.</summary>
internal readonly record struct ValidatedLine(int Line, string? CustomId, string? Body, string? ErrorResult);

/// <summary>
/// Batches and their lines in the database. Every state change is one transaction; a line's result is written once:
/// the update only applies to a row still pending, so a line finished twice (a race with cancel, a replay after a
/// crash) keeps its first answer and is counted once.
/// </summary>
internal sealed class BatchStore(BatchDatabase database, TimeProvider time)
{
    private const string Columns = """
        id, endpoint, input_file_id, completion_window, status, metadata, errors, output_file_id, error_file_id,
        created_at, expires_at, in_progress_at, finalizing_at, completed_at, failed_at, cancelling_at, cancelled_at,
        total, completed, failed, expired_at
        """;

    /// <summary>Now, in Unix seconds, on the clock every batch timestamp and deadline is read from.</summary>
    public long UnixNow() => time.GetUtcNow().ToUnixTimeSeconds();

    public void Create(BatchRecord batch) => database.InTransaction((connection, transaction) =>
    {
        using var insert = connection.Command(
            """
            INSERT INTO batches (id, endpoint, input_file_id, completion_window, status, metadata, created_at, expires_at)
            VALUES ($id, $endpoint, $input, $window, $status, $metadata, $created, $expires)
            """,
            transaction, ("$id", batch.Id), ("$endpoint", batch.Endpoint), ("$input", batch.InputFileId), ("$window", batch.CompletionWindow),
            ("$status", batch.Status), ("$metadata", batch.Metadata), ("$created", batch.CreatedAt), ("$expires", batch.ExpiresAt));
        insert.ExecuteNonQuery();
    });

    public BatchRecord? Get(string id) => database.Read(connection =>
    {
        using var select = connection.Command($"SELECT {Columns} FROM batches WHERE id = $id", null, ("$id", id));
        using var reader = select.ExecuteReader();
        return reader.Read() ? ReadBatch(reader) : null;
    });

    /// <summary>Batches newest first, at most <paramref name="limit"/>, after the batch with id <paramref name="after"/>.</summary>
    public List<BatchRecord> List(int limit, string? after) => database.Read(connection =>
    {
        using var select = connection.Command(
            $"""
            SELECT {Columns} FROM batches
            WHERE $after IS NULL OR (created_at, id) < (SELECT created_at, id FROM batches WHERE id = $after)
            ORDER BY created_at DESC, id DESC LIMIT $limit
            """,
            null, ("$after", after), ("$limit", limit));
        using var reader = select.ExecuteReader();
        var batches = new List<BatchRecord>();
        while (reader.Read())
        {
            batches.Add(ReadBatch(reader));
        }

        return batches;
    });

    public List<string> IdsWithStatus(string status) => database.Read(connection =>
    {
        using var select = connection.Command("SELECT id FROM batches WHERE status = $status ORDER BY created_at, id", null, ("$status", status));
        using var reader = select.ExecuteReader();
        var ids = new List<string>();
        while (reader.Read())
        {
            ids.Add(reader.GetString(0));
        }

        return ids;
    });

    /// <summary>Moves a batch from one of <paramref name="from"/> to <paramref name="to"/>, stamping <paramref name="stampColumn"/>; false when it was elsewhere.</summary>
    public bool Transition(string id, string[] from, string to, string stampColumn) => database.InTransaction((connection, transaction) =>
        Transition(connection, transaction, id, from, to, stampColumn));

    /// <summary>Stores every validated line and moves the batch from validating to in_progress, in one transaction.</summary>
    public void SaveValidatedLines(string id, IReadOnlyList<ValidatedLine> lines) => database.InTransaction((connection, transaction) =>
    {
        if (!Transition(connection, transaction, id, [BatchStatus.Validating], BatchStatus.InProgress, "in_progress_at"))
        {
            return; // cancelled while validating: the lines are not needed
        }

        using var insert = connection.Command(
            "INSERT INTO batch_lines (batch_id, line, custom_id, body, state, result) VALUES ($batch, $line, $custom, $body, $state, $result)",
            transaction, ("$batch", id), ("$line", 0), ("$custom", null), ("$body", null), ("$state", 0), ("$result", null));
        var failed = 0;
        foreach (var line in lines)
        {
            insert.Parameters["$line"].Value = line.Line;
            insert.Parameters["$custom"].Value = (object?)line.CustomId ?? DBNull.Value;
            insert.Parameters["$body"].Value = (object?)line.Body ?? DBNull.Value;
            insert.Parameters["$state"].Value = (int)(line.ErrorResult is null ? LineState.Pending : LineState.Failed);
            insert.Parameters["$result"].Value = (object?)line.ErrorResult ?? DBNull.Value;
            insert.ExecuteNonQuery();
            failed += line.ErrorResult is null ? 0 : 1;
        }

        using var counts = connection.Command(
            "UPDATE batches SET total = $total, failed = $failed WHERE id = $id", transaction, ("$total", lines.Count), ("$failed", failed), ("$id", id));
        counts.ExecuteNonQuery();
    });

    /// <summary>Fails a batch as a whole (its input could not be read), with OpenAI's errors list.</summary>
    public void Fail(string id, string code, string message) => database.InTransaction((connection, transaction) =>
    {
        var errors = System.Text.Json.JsonSerializer.Serialize(new[] { new Dictionary<string, object?> { ["code"] = code, ["message"] = message, ["param"] = null, ["line"] = null } });
        if (Transition(connection, transaction, id, [BatchStatus.Validating], BatchStatus.Failed, "failed_at"))
        {
            using var update = connection.Command("UPDATE batches SET errors = $errors WHERE id = $id", transaction, ("$errors", errors), ("$id", id));
            update.ExecuteNonQuery();
        }
    });

    /// <summary>Pending lines after <paramref name="afterLine"/>, in input order.</summary>
    public List<PendingLine> PendingLines(string id, int afterLine, int limit) => database.Read(connection =>
    {
        using var select = connection.Command(
            "SELECT line, custom_id, body FROM batch_lines WHERE batch_id = $id AND state = 0 AND line > $after ORDER BY line LIMIT $limit",
            null, ("$id", id), ("$after", afterLine), ("$limit", limit));
        using var reader = select.ExecuteReader();
        var lines = new List<PendingLine>();
        while (reader.Read())
        {
            lines.Add(new PendingLine(reader.GetInt32(0), reader.GetString(1), reader.GetString(2)));
        }

        return lines;
    });

    /// <summary>Records a line's result once; false when it already had one (then nothing changes).</summary>
    public bool CompleteLine(string id, int line, LineState state, string result)
    {
        if (state == LineState.Pending)
        {
            throw new ArgumentException("a result must finish the line", nameof(state));
        }

        return database.InTransaction((connection, transaction) =>
        {
            using var update = connection.Command(
                "UPDATE batch_lines SET state = $state, result = $result WHERE batch_id = $id AND line = $line AND state = 0",
                transaction, ("$state", (int)state), ("$result", result), ("$id", id), ("$line", line));
            if (update.ExecuteNonQuery() == 0)
            {
                return false;
            }

            var counter = state == LineState.Done ? "completed" : "failed";
            using var count = connection.Command($"UPDATE batches SET {counter} = {counter} + 1 WHERE id = $id", transaction, ("$id", id));
            count.ExecuteNonQuery();
            return true;
        });
    }

    /// <summary>
    /// Writes the finished lines' results, in input order, into the output file (done lines) and the error file
    /// (failed lines), records those files and moves the batch to <paramref name="finalStatus"/>, in one transaction:
    /// completed from finalizing, cancelled from cancelling, expired from in_progress. The file ids derive from the
    /// batch id, so finalizing again after a crash rewrites the same files.
    /// </summary>
    public void Finalize(string id, string finalStatus, FileStore files)
    {
        var (from, stamp) = finalStatus switch
        {
            BatchStatus.Completed => (BatchStatus.Finalizing, "completed_at"),
            BatchStatus.Cancelled => (BatchStatus.Cancelling, "cancelled_at"),
            BatchStatus.Expired => (BatchStatus.InProgress, "expired_at"),
            _ => throw new ArgumentException($"'{finalStatus}' is not a status a batch is finalized to", nameof(finalStatus)),
        };

        var outputId = "file-" + id["batch_".Length..] + "-output";
        var errorId = "file-" + id["batch_".Length..] + "-errors";
        var (outputLines, errorLines) = (0, 0);
        var outputTemp = files.TempPath();
        var errorTemp = files.TempPath();
        using (var output = new StreamWriter(outputTemp))
        using (var errors = new StreamWriter(errorTemp))
        {
            output.NewLine = "\n";
            errors.NewLine = "\n";
            database.Read(connection =>
            {
                using var select = connection.Command(
                    "SELECT state, result FROM batch_lines WHERE batch_id = $id AND state <> 0 ORDER BY line", null, ("$id", id));
                using var reader = select.ExecuteReader();
                while (reader.Read())
                {
                    if ((LineState)reader.GetInt32(0) == LineState.Done)
                    {
                        output.WriteLine(reader.GetString(1));
                        outputLines++;
                    }
                    else
                    {
                        errors.WriteLine(reader.GetString(1));
                        errorLines++;
                    }
                }

                return 0;
            });
        }

        var outputFile = Keep(outputTemp, outputLines, outputId, $"{id}_output.jsonl");
        var errorFile = Keep(errorTemp, errorLines, errorId, $"{id}_error.jsonl");
        database.InTransaction((connection, transaction) =>
        {
            foreach (var file in new[] { outputFile, errorFile })
            {
                if (file is not null)
                {
                    FileStore.Insert(connection, transaction, file);
                }
            }

            if (Transition(connection, transaction, id, [from], finalStatus, stamp))
            {
                using var update = connection.Command(
                    "UPDATE batches SET output_file_id = $output, error_file_id = $error WHERE id = $id",
                    transaction, ("$output", outputFile?.Id), ("$error", errorFile?.Id), ("$id", id));
                update.ExecuteNonQuery();
            }
        });

        // OpenAI leaves output_file_id / error_file_id null when there is nothing to put in them.
        StoredFile? Keep(string temp, int lines, string fileId, string name)
        {
            if (lines == 0)
            {
                File.Delete(temp);
                return null;
            }

            var path = files.PathOf(fileId);
            File.Move(temp, path, overwrite: true);
            return new StoredFile(fileId, new FileInfo(path).Length, UnixNow(), name, StoredFile.BatchOutputPurpose);
        }
    }

    /// <summary>Running batches whose deadline has passed, oldest first.</summary>
    public List<string> InProgressPastDeadline() => database.Read(connection =>
    {
        using var select = connection.Command(
            "SELECT id FROM batches WHERE status = $status AND expires_at <= $now ORDER BY created_at, id",
            null, ("$status", BatchStatus.InProgress), ("$now", UnixNow()));
        using var reader = select.ExecuteReader();
        var ids = new List<string>();
        while (reader.Read())
        {
            ids.Add(reader.GetString(0));
        }

        return ids;
    });

    /// <summary>
    /// Fails every line of a running batch that has no result yet with OpenAI's batch_expired error, in one
    /// transaction, and returns how many. Lines already finished keep their results. Call it with none of the batch's
    /// lines in the engine, then <see cref="Finalize"/> it as expired; both are safe to repeat after a crash.
    /// </summary>
    public int ExpireUnfinishedLines(string id) => database.InTransaction((connection, transaction) =>
    {
        var unfinished = new List<(int Line, string CustomId)>();
        using (var select = connection.Command(
            "SELECT line, custom_id FROM batch_lines WHERE batch_id = $id AND state = 0 ORDER BY line", transaction, ("$id", id)))
        using (var reader = select.ExecuteReader())
        {
            while (reader.Read())
            {
                unfinished.Add((reader.GetInt32(0), reader.GetString(1)));
            }
        }

        using var update = connection.Command(
            "UPDATE batch_lines SET state = $state, result = $result WHERE batch_id = $id AND line = $line AND state = 0",
            transaction, ("$state", (int)LineState.Failed), ("$result", null), ("$id", id), ("$line", 0));
        foreach (var (line, customId) in unfinished)
        {
            update.Parameters["$line"].Value = line;
            update.Parameters["$result"].Value = BatchLineValidator.Invalid(
                line, customId, "This request could not be executed before the completion window expired.", "batch_expired").ErrorResult;
            update.ExecuteNonQuery();
        }

        using var count = connection.Command(
            "UPDATE batches SET failed = failed + $n WHERE id = $id", transaction, ("$n", unfinished.Count), ("$id", id));
        count.ExecuteNonQuery();
        return unfinished.Count;
    });

    /// <summary>Batch counts by status and the pending lines of running batches, for /metrics.</summary>
    public (Dictionary<string, long> ByStatus, long PendingLines) Gauges() => database.Read(connection =>
    {
        var byStatus = new Dictionary<string, long>();
        using (var select = connection.Command("SELECT status, COUNT(*) FROM batches GROUP BY status"))
        using (var reader = select.ExecuteReader())
        {
            while (reader.Read())
            {
                byStatus[reader.GetString(0)] = reader.GetInt64(1);
            }
        }

        using var pending = connection.Command(
            "SELECT COUNT(*) FROM batch_lines l JOIN batches b ON b.id = l.batch_id WHERE l.state = 0 AND b.status = 'in_progress'");
        return (byStatus, (long)pending.ExecuteScalar()!);
    });

    private bool Transition(SqliteConnection connection, SqliteTransaction transaction, string id, string[] from, string to, string stampColumn)
    {
        var allowed = string.Join(", ", from.Select((_, i) => $"$from{i}"));
        using var update = connection.Command(
            $"UPDATE batches SET status = $to, {stampColumn} = $now WHERE id = $id AND status IN ({allowed})",
            transaction, [("$to", to), ("$now", UnixNow()), ("$id", id), .. from.Select((s, i) => ($"$from{i}", (object?)s))]);
        return update.ExecuteNonQuery() == 1;
    }

    private static BatchRecord ReadBatch(SqliteDataReader r) => new()
    {
        Id = r.GetString(0),
        Endpoint = r.GetString(1),
        InputFileId = r.GetString(2),
        CompletionWindow = r.GetString(3),
        Status = r.GetString(4),
        Metadata = r.NullableString(5),
        Errors = r.NullableString(6),
        OutputFileId = r.NullableString(7),
        ErrorFileId = r.NullableString(8),
        CreatedAt = r.GetInt64(9),
        ExpiresAt = r.GetInt64(10),
        InProgressAt = r.NullableInt64(11),
        FinalizingAt = r.NullableInt64(12),
        CompletedAt = r.NullableInt64(13),
        FailedAt = r.NullableInt64(14),
        CancellingAt = r.NullableInt64(15),
        CancelledAt = r.NullableInt64(16),
        Total = r.GetInt32(17),
        Completed = r.GetInt32(18),
        Failed = r.GetInt32(19),
        ExpiredAt = r.NullableInt64(20),
    };
}
