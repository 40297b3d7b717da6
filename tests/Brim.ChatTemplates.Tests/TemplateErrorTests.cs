using static Brim.ChatTemplates.Tests.TemplateHarness;

namespace Brim.ChatTemplates.Tests;

/// <summary>Errors name their cause and position; hostile templates hit a limit instead of hanging or crashing.</summary>
public sealed class TemplateErrorTests
{
    [Theory]
    [InlineData("line one\n{% if x %}\nno end", 2, 4, "'if' block opened at line 2, column 4 is never closed")]
    [InlineData("{{ 1 + }}", 1, 8, "expected an expression, got '}}'")]
    [InlineData("ok\n  {% endfor %}", 2, 6, "unexpected 'endfor'")]
    [InlineData("{% for x in y %}{% endif %}{% endfor %}", 1, 20, "unexpected 'endif' inside 'for' block")]
    [InlineData("{{ 'unterminated }}", 1, 4, "string literal is never closed")]
    [InlineData("{% frobnicate %}", 1, 4, "unknown or unsupported tag 'frobnicate'")]
    [InlineData("a\nb {{ x $ y }}", 2, 8, "unexpected character '$'")]
    [InlineData("{# never closed", 1, 1, "comment is never closed")]
    [InlineData("{{ x ", 1, 1, "never closed with '}}'")]
    public void Parse_InvalidTemplate_ReportsLineAndColumn(string template, int line, int column, string fragment)
    {
        var error = Assert.Throws<ChatTemplateException>(() => ChatTemplate.Parse(template));
        Assert.Equal(line, error.Line);
        Assert.Equal(column, error.Column);
        Assert.Contains(fragment, error.Message, StringComparison.Ordinal);
        Assert.Contains($"line {line}, column {column}", error.Message, StringComparison.Ordinal);
        Assert.False(error.RaisedByTemplate);
    }

    [Fact]
    public void Render_RaiseException_PassesMessageVerbatim()
    {
        var error = RenderFails("ok\n{{ raise_exception('Roles must alternate: ' ~ 3) }}");
        Assert.Equal("Roles must alternate: 3", error.Message);
        Assert.True(error.RaisedByTemplate);
        Assert.Equal(2, error.Line);
    }

    [Theory]
    [InlineData("{{ missing.attribute }}", "'missing' is undefined")]
    [InlineData("{{ missing + 1 }}", "'missing' is undefined")]
    [InlineData("{{ 'a' + 1 }}", "unsupported operand type(s) for +: 'str' and 'int'")]
    [InlineData("{{ 1 // 0 }}", "division by zero")]
    [InlineData("{{ x | nosuchfilter }}", "no filter named 'nosuchfilter'")]
    [InlineData("{{ 1 is nosuchtest }}", "no test named 'nosuchtest'")]
    [InlineData("{{ 5() }}", "'int' object is not callable")]
    [InlineData("{% set d = {} %}{% set d.x = 1 %}", "only namespace() objects accept attribute assignment")]
    [InlineData("{% for a, b in [[1, 2, 3]] %}{% endfor %}", "cannot unpack 3 values into 2 names")]
    public void Render_RuntimeError_ExplainsCauseWithPosition(string template, string fragment)
    {
        var error = RenderFails(template);
        Assert.Contains(fragment, error.Message, StringComparison.Ordinal);
        Assert.NotNull(error.Line);
        Assert.NotNull(error.Column);
    }

    [Fact]
    public void Render_RuntimeErrorOnLaterLine_PointsAtTheFailingExpression()
    {
        var error = RenderFails("line 1\n{% if true %}\n   {{ 'x' ~ (1 + none) }}\n{% endif %}");
        Assert.Equal(3, error.Line);
        Assert.Equal(14, error.Column); // where '1 + none' starts
    }

    [Fact]
    public void Render_InfiniteLoopByAppending_StopsAtIterationCap()
    {
        var options = new ChatTemplateOptions { MaxLoopIterations = 10_000 };
        var error = RenderFails(
            "{% set ns = namespace(items=[1]) %}{% for a in range(100000) %}{% for b in range(100000) %}x{% endfor %}{% endfor %}",
            options: options);
        Assert.Contains("10000 loop iterations", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Render_HugeRange_StopsAtIterationCap()
    {
        var error = RenderFails("{{ range(1000000000) | length }}", options: new ChatTemplateOptions { MaxLoopIterations = 1000 });
        Assert.Contains("loop iterations", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Render_ExponentialStringGrowth_StopsAtOutputCap()
    {
        var options = new ChatTemplateOptions { MaxOutputLength = 1 << 20 };
        var error = RenderFails("{% set ns = namespace(s='ab') %}{% for i in range(60) %}{% set ns.s = ns.s ~ ns.s %}{% endfor %}{{ ns.s }}", options: options);
        Assert.Contains("longer than 1048576", error.Message, StringComparison.Ordinal);
        Assert.Contains("longer than", RenderFails("{{ 'x' * 100000000000 }}", options: options).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Render_OutputBeyondCap_IsRefused()
    {
        var error = RenderFails("{% for i in range(2000) %}0123456789{% endfor %}", options: new ChatTemplateOptions { MaxOutputLength = 10_000 });
        Assert.Contains("MaxOutputLength", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Render_UnboundedMacroRecursion_StopsAtDepthLimit()
    {
        var error = RenderFails("{% macro f(n) %}{{ f(n + 1) }}{% endmacro %}{{ f(0) }}");
        Assert.Contains("nested more than", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_DeeplyNestedExpression_IsRefusedWithoutStackOverflow()
    {
        string template = "{{ " + new string('(', 5000) + "1" + new string(')', 5000) + " }}";
        var error = Assert.Throws<ChatTemplateException>(() => ChatTemplate.Parse(template));
        Assert.Contains("nested more than", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_DeeplyNestedBlocks_IsRefusedWithoutStackOverflow()
    {
        string template = string.Concat(Enumerable.Repeat("{% if true %}", 5000)) + string.Concat(Enumerable.Repeat("{% endif %}", 5000));
        var error = Assert.Throws<ChatTemplateException>(() => ChatTemplate.Parse(template));
        Assert.Contains("nested more than", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Render_SelfContainingList_IsRefusedWhenPrinted()
    {
        var error = RenderFails("{% set l = [] %}{% set _ = l.append(l) %}{{ l | tojson }}");
        Assert.Contains("nested more than", error.Message, StringComparison.Ordinal);
    }
}
