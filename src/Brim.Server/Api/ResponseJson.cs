using System.Text.Encodings.Web;
using System.Text.Json;

namespace Brim.Server.Api;

/// <summary>
/// How every JSON body Brim writes is encoded: UTF-8 text as it is (CJK, accents, apostrophes), not <c>\uXXXX</c>
/// escapes, as other OpenAI-compatible servers answer. The relaxed encoder only skips the HTML-safety escapes, which
/// an <c>application/json</c> body does not need; quotes, backslashes and control characters are still escaped.
/// </summary>
internal static class ResponseJson
{
    public static readonly JsonWriterOptions Options = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <summary>For the hot streaming path, whose writers are known to produce well-formed JSON.</summary>
    public static readonly JsonWriterOptions Unvalidated = Options with { SkipValidation = true };
}
