using System.CommandLine.Parsing;
using System.Globalization;
using Brim.Server.Hosting;

namespace Brim.Cli.Commands;

/// <summary>
/// Parsers of option values that refuse a bad value at parse time with a message naming the option, so the command
/// exits 2 before loading anything instead of failing deep inside the engine's option checks.
/// </summary>
internal static class OptionValues
{
    private const long GiB = 1L << 30;

    /// <summary>A whole number of at least 1.</summary>
    public static int AtLeastOne(ArgumentResult result)
    {
        var text = Text(result);
        if (int.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var value) && value >= 1)
        {
            return value;
        }

        result.AddError($"{Name(result)} must be a whole number of at least 1; got '{text}'");
        return 1;
    }

    /// <summary>A whole number of at least <paramref name="minimum"/> (--max-request-bytes).</summary>
    public static long AtLeast(ArgumentResult result, long minimum)
    {
        var text = Text(result);
        if (long.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var value) && value >= minimum)
        {
            return value;
        }

        result.AddError(string.Create(CultureInfo.InvariantCulture, $"{Name(result)} must be a whole number of at least {minimum}; got '{text}'"));
        return minimum;
    }

    /// <summary>Seconds, 0 or more (--drain-timeout).</summary>
    public static double Seconds(ArgumentResult result)
    {
        var text = Text(result);
        if (double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var value) && double.IsFinite(value) && value is >= 0 and < 1e6)
        {
            return value;
        }

        result.AddError($"{Name(result)} must be 0 or more seconds; got '{text}'");
        return 0;
    }

    /// <summary>Shares in (0, 1], one per token (--model-memory-share, repeated).</summary>
    public static double[] Shares(ArgumentResult result)
    {
        var shares = new double[result.Tokens.Count];
        for (var i = 0; i < shares.Length; i++)
        {
            var text = result.Tokens[i].Value;
            if (!double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out shares[i]) || shares[i] is not (> 0 and <= 1))
            {
                result.AddError($"{Name(result)} must be in (0, 1]; got '{text}'");
                return [];
            }
        }

        return shares;
    }

    /// <summary>GPU priorities, high or normal, one per token (--model-gpu-priority, repeated).</summary>
    public static GpuPriority[] GpuPriorities(ArgumentResult result)
    {
        var priorities = new GpuPriority[result.Tokens.Count];
        for (var i = 0; i < priorities.Length; i++)
        {
            var text = result.Tokens[i].Value;
            priorities[i] = text switch
            {
                "high" => GpuPriority.High,
                "normal" => GpuPriority.Normal,
                _ => (GpuPriority)(-1),
            };
            if (priorities[i] is not (GpuPriority.High or GpuPriority.Normal))
            {
                result.AddError($"{Name(result)} takes high or normal; got '{text}'");
                return [];
            }
        }

        return priorities;
    }

    /// <summary>A share in (0, 1].</summary>
    public static double Share(ArgumentResult result)
    {
        var text = Text(result);
        if (double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var value) && value is > 0 and <= 1)
        {
            return value;
        }

        result.AddError($"{Name(result)} must be in (0, 1]; got '{text}'");
        return 1;
    }

    /// <summary>
    /// GiB of host swap space, returned in bytes. Like vLLM, more than 70 % of the host's memory is refused: pinned memory
    /// cannot be paged out, so such a swap space starves the rest of the machine (or fails to allocate at all).
    /// </summary>
    public static long SwapSpaceBytes(ArgumentResult result) => SwapSpaceBytes(result, GC.GetGCMemoryInfo().TotalAvailableMemoryBytes);

    internal static long SwapSpaceBytes(ArgumentResult result, long hostMemoryBytes)
    {
        var text = Text(result);
        if (!double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var gib) || !double.IsFinite(gib) || gib < 0)
        {
            result.AddError($"{Name(result)} must be 0 or more GiB; got '{text}'");
            return 0;
        }

        var limit = 0.7 * hostMemoryBytes / GiB;
        if (gib > limit)
        {
            result.AddError(string.Create(CultureInfo.InvariantCulture,
                $"{Name(result)} {text} GiB is more than 70 % of this machine's {hostMemoryBytes / (double)GiB:F1} GiB of memory (at most {limit:F1})"));
            return 0;
        }

        return (long)Math.Round(gib * GiB);
    }

    /// <summary>Comma-separated request rates, each positive or "inf" (--request-rates 1,4,16,inf).</summary>
    public static double[]? RequestRates(ArgumentResult result)
    {
        var text = Text(result);
        var rates = new List<double>();
        foreach (var part in text.Split(',', StringSplitOptions.TrimEntries))
        {
            if (part is "inf" or "Infinity")
            {
                rates.Add(double.PositiveInfinity);
            }
            else if (double.TryParse(part, NumberStyles.Float, CultureInfo.InvariantCulture, out var r) && double.IsFinite(r) && r > 0)
            {
                rates.Add(r);
            }
            else
            {
                result.AddError($"{Name(result)} must be positive rates or inf, separated by commas; got '{text}'");
                return null;
            }
        }

        return [.. rates];
    }

    /// <summary>A --speculative-config JSON object; an unknown key, method or policy, or a value out of range, is named.</summary>
    public static Brim.Engine.Speculative.SpeculativeConfig? SpeculativeConfig(ArgumentResult result)
    {
        try
        {
            return Brim.Engine.Speculative.SpeculativeConfig.Parse(Text(result));
        }
        catch (ArgumentException ex)
        {
            result.AddError($"{Name(result)}: {ex.Message}");
            return null;
        }
    }

    /// <summary>More than 0 GiB (--kv-cache-space), returned in bytes.</summary>
    public static long PositiveGiBBytes(ArgumentResult result)
    {
        var text = Text(result);
        if (double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var gib) && double.IsFinite(gib) && gib > 0 && gib < 1 << 20)
        {
            return (long)Math.Round(gib * GiB);
        }

        result.AddError($"{Name(result)} must be a number of GiB above 0; got '{text}'");
        return GiB;
    }

    /// <summary>A comma-separated list of whole numbers of at least 1 (--batch-sizes 1,4,8).</summary>
    public static int[] BatchSizes(ArgumentResult result)
    {
        var text = Text(result);
        var parts = text.Split(',', StringSplitOptions.TrimEntries);
        var sizes = new int[parts.Length];
        for (var i = 0; i < parts.Length; i++)
        {
            if (!int.TryParse(parts[i], NumberStyles.None, CultureInfo.InvariantCulture, out sizes[i]) || sizes[i] < 1)
            {
                result.AddError($"{Name(result)} must be whole numbers of at least 1 separated by commas, e.g. 1,4,8; got '{text}'");
                return [1];
            }
        }

        return sizes;
    }

    /// <summary>A TCP port, 0 (any free one) to 65535.</summary>
    public static int Port(ArgumentResult result)
    {
        var text = Text(result);
        if (int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var port) && port <= 65535)
        {
            return port;
        }

        result.AddError($"{Name(result)} must be a TCP port from 0 to 65535; got '{text}'");
        return 0;
    }

    /// <summary>An IP address or "localhost": what Kestrel can bind without resolving names.</summary>
    public static string ListenHost(ArgumentResult result)
    {
        var text = Text(result);
        if (text == "localhost" || System.Net.IPAddress.TryParse(text, out _))
        {
            return text;
        }

        result.AddError($"{Name(result)} must be an IP address (127.0.0.1, 0.0.0.0, ::) or localhost; got '{text}'");
        return "127.0.0.1";
    }

    /// <summary>
    /// An absolute http(s) URL of this machine, such as http://127.0.0.1:8000/ (the load generator is a benchmark, not a
    /// tool to point at someone else's server).
    /// </summary>
    public static Uri? LoopbackHttpUrl(ArgumentResult result)
    {
        var text = Text(result);
        if (Uri.TryCreate(text, UriKind.Absolute, out var url) && (url.Scheme == Uri.UriSchemeHttp || url.Scheme == Uri.UriSchemeHttps) && url.IsLoopback)
        {
            return url;
        }

        result.AddError($"{Name(result)} must be an http:// URL of this machine (127.0.0.1, ::1 or localhost) such as http://127.0.0.1:8000/; got '{text}'");
        return null;
    }

    private static string Text(ArgumentResult result) => string.Join(' ', result.Tokens.Select(t => t.Value));

    private static string Name(ArgumentResult result) => result.Parent is OptionResult option ? option.Option.Name : "the value";
}
