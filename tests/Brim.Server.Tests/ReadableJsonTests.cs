namespace Brim.Server.Tests;

/// <summary>Response bodies carry UTF-8 text as it is, not \u escapes (accents, CJK, apostrophes), as other servers answer.</summary>
public class ReadableJsonTests(ServerFixture fixture) : IClassFixture<ServerFixture>
{
    [Fact]
    public async Task ErrorBody_NonAsciiAndApostrophe_AreNotEscaped()
    {
        using var response = await fixture.Http.GetAsync("v1/models/" + Uri.EscapeDataString("café's-模型"));
        var raw = await response.Content.ReadAsStringAsync();

        Assert.Equal(404, (int)response.StatusCode);
        Assert.Contains("café's-模型", raw, StringComparison.Ordinal);
        Assert.DoesNotContain("\\u", raw, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Completion_GeneratedApostrophes_AreNotEscaped()
    {
        // The bundled model writes stories with "didn't" and "Lily's"; whatever it writes, no \u escape may appear.
        using var response = await fixture.Http.PostAsync("v1/completions", new StringContent(
            """{"model":"stories260K","prompt":"Lily's mom said she couldn't","max_tokens":60,"temperature":0,"echo":true}""",
            System.Text.Encoding.UTF8, "application/json"));
        var raw = await response.Content.ReadAsStringAsync();

        Assert.True(response.IsSuccessStatusCode, raw);
        Assert.Contains("Lily's mom said she couldn't", raw, StringComparison.Ordinal);
        Assert.DoesNotContain("\\u0027", raw, StringComparison.Ordinal);
    }
}
