using System.Text.Json;

namespace Brim.Server.Files;

/// <summary>An uploaded or generated file: the OpenAI File object's fields. The bytes live on disk under the data directory.</summary>
internal sealed record StoredFile(string Id, long Bytes, long CreatedAt, string Filename, string Purpose)
{
    /// <summary>Purposes of the files this server keeps: uploaded batch input, and the output and error files of batches.</summary>
    public const string BatchPurpose = "batch";
    public const string BatchOutputPurpose = "batch_output";

    public static string NewId() => "file-" + Guid.NewGuid().ToString("N");

    /// <summary>Writes the OpenAI File object.</summary>
    public void WriteJson(Utf8JsonWriter json)
    {
        json.WriteStartObject();
        json.WriteString("id", Id);
        json.WriteString("object", "file");
        json.WriteNumber("bytes", Bytes);
        json.WriteNumber("created_at", CreatedAt);
        json.WriteNull("expires_at");
        json.WriteString("filename", Filename);
        json.WriteString("purpose", Purpose);
        json.WriteString("status", "processed"); // deprecated by OpenAI but still sent; a stored file is always processed here
        json.WriteNull("status_details");
        json.WriteEndObject();
    }
}
