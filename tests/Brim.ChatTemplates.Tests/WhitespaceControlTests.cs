using static Brim.ChatTemplates.Tests.TemplateHarness;

namespace Brim.ChatTemplates.Tests;

/// <summary>Whitespace handling as Hugging Face configures Jinja: trim_blocks, lstrip_blocks, '-' markers.</summary>
public sealed class WhitespaceControlTests
{
    [Theory]
    // trim_blocks: the newline right after a block tag goes; after an expression it stays.
    [InlineData("{% if true %}\nyes\n{% endif %}\nend", "yes\nend")]
    [InlineData("{{ 'a' }}\nb", "a\nb")]
    // lstrip_blocks: indentation before a block tag at line start goes, indentation before text stays.
    [InlineData("  {% if true %}\n  yes\n  {% endif %}\n", "  yes\n")]
    [InlineData("x  {% if true %}y{% endif %}", "x  y")]
    [InlineData("  {{ 'expr' }}", "  expr")]
    // '-' strips all whitespace, newlines included, on its side.
    [InlineData("a  \n {{- 'b' -}} \n  c", "abc")]
    [InlineData("a\n\n{%- if true -%}\n\n b {%- endif %}", "ab")]
    // Comments follow the block rules and print nothing.
    [InlineData("a\n{# note #}\nb", "a\nb")]
    [InlineData("a {#- note -#} b", "ab")]
    // One trailing newline of the template is dropped (keep_trailing_newline=False).
    [InlineData("text\n", "text")]
    [InlineData("text\n\n", "text\n")]
    // '+' turns lstrip off for that tag.
    [InlineData("  {%+ if true %}x{% endif %}", "  x")]
    public void Render_WhitespaceControl_MatchesHuggingFaceSettings(string template, string expected) =>
        Assert.Equal(expected, Render(template));
}
