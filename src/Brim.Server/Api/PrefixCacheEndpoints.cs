using Brim.Server.Files;
using Microsoft.AspNetCore.Http;

namespace Brim.Server.Api;

/// <summary>
/// POST /reset_prefix_cache (vLLM's route, behind the API key): forgets every cached prompt block, for after the
/// weights behind a model name changed, or to measure with a cold cache. Requests running keep their blocks. With
/// several served models, every model's cache is reset and the count is their sum.
/// </summary>
internal static class PrefixCacheEndpoints
{
    public static async Task ResetAsync(HttpContext context, ServerContext server)
    {
        var counts = await Task.WhenAll(server.Models.Select(m => m.Engine.ResetPrefixCacheAsync())).WaitAsync(context.RequestAborted).ConfigureAwait(false);
        var forgotten = counts.Sum();
        await JsonResponse.WriteAsync(context, json =>
        {
            json.WriteStartObject();
            json.WriteString("object", "prefix_cache.reset");
            json.WriteNumber("forgotten_blocks", forgotten);
            json.WriteEndObject();
        }).ConfigureAwait(false);
    }
}
