using static Brim.ChatTemplates.Tests.TemplateHarness;

namespace Brim.ChatTemplates.Tests;

/// <summary>The Jinja subset: expressions, loops, assignments, filters and tests, with Python's semantics.</summary>
public sealed class JinjaLanguageTests
{
    [Theory]
    [InlineData("{{ 1 + 2 * 3 }}", "7")]
    [InlineData("{{ (1 + 2) * 3 }}", "9")]
    [InlineData("{{ 7 // 2 }} {{ -7 // 2 }} {{ -7 % 3 }} {{ 7 / 2 }}", "3 -4 2 3.5")]
    [InlineData("{{ 2 ** 10 }} {{ 4 / 2 }}", "1024 2.0")]
    [InlineData("{{ 'a' ~ 1 ~ none }}", "a1None")]
    [InlineData("{{ 'ab' * 3 }}", "ababab")]
    [InlineData("{{ [1, 2] + [3] }}", "[1, 2, 3]")]
    [InlineData("{{ true }} {{ none }} {{ 1.0 }}", "True None 1.0")]
    [InlineData("{{ {'a': 'x', 'b': [1, none]} }}", "{'a': 'x', 'b': [1, None]}")]
    [InlineData("{{ 'yes' if 1 < 2 < 3 else 'no' }}", "yes")]
    [InlineData("{{ 'yes' if 3 > 2 > 2 else 'no' }}", "no")]
    [InlineData("{{ 0 or 'fallback' }}|{{ 1 and 'second' }}|{{ not 0 }}", "fallback|second|True")]
    [InlineData("{{ 'x' if false }}", "")]
    [InlineData("{{ 'b' in 'abc' }} {{ 2 in [1, 2] }} {{ 'k' in {'k': 1} }} {{ 'z' not in 'abc' }}", "True True True True")]
    public void Render_Expressions_FollowPythonSemantics(string template, string expected) =>
        Assert.Equal(expected, Render(template));

    [Theory]
    [InlineData("{{ x[1:] }}", "[2, 3, 4]")]
    [InlineData("{{ x[::-1] }}", "[4, 3, 2, 1]")]
    [InlineData("{{ x[-2:] }}", "[3, 4]")]
    [InlineData("{{ x[:-1] }}", "[1, 2, 3]")]
    [InlineData("{{ x[::2] }}", "[1, 3]")]
    [InlineData("{{ x[-1] }} {{ x[0] }}", "4 1")]
    [InlineData("{{ s[1:3] }}{{ s[::-1] }}", "bcdcba")]
    [InlineData("{{ d.k }} {{ d['k'] }} {{ d.missing }}|", "v v |")]
    public void Render_IndexingAndSlicing_MatchesPython(string template, string expected) =>
        Assert.Equal(expected, Render(template, """{"x": [1, 2, 3, 4], "s": "abcd", "d": {"k": "v"}}"""));

    [Fact]
    public void Render_LoopVariable_ExposesPositionAndLength()
    {
        string output = Render(
            "{% for x in items %}{{ loop.index }}{{ loop.index0 }}{{ loop.revindex }}{{ loop.revindex0 }}"
            + "{{ 'F' if loop.first }}{{ 'L' if loop.last }}{{ loop.length }};{% endfor %}",
            """{"items": ["a", "b", "c"]}""");
        Assert.Equal("1032F3;21213;3210L3;", output);
    }

    [Fact]
    public void Render_LoopWithInlineIf_CountsOnlyKeptItems()
    {
        string output = Render(
            "{% for n in range(10) if n is even %}{{ n }}{{ '/' ~ loop.length if loop.last }},{% endfor %}");
        Assert.Equal("0,2,4,6,8/5,", output);
    }

    [Fact]
    public void Render_LoopElse_RunsOnlyForEmptyIterable()
    {
        Assert.Equal("empty", Render("{% for x in [] %}{{ x }}{% else %}empty{% endfor %}"));
        Assert.Equal("1", Render("{% for x in [1] %}{{ x }}{% else %}empty{% endfor %}"));
    }

    [Fact]
    public void Render_BreakAndContinue_ControlTheInnermostLoop()
    {
        string output = Render(
            "{% for i in range(3) %}{% for j in range(5) %}{% if j == 1 %}{% continue %}{% endif %}"
            + "{% if j == 3 %}{% break %}{% endif %}{{ i }}{{ j }} {% endfor %}{% endfor %}");
        Assert.Equal("00 02 10 12 20 22 ", output);
    }

    [Fact]
    public void Render_DictLoop_UnpacksItems()
    {
        Assert.Equal(
            "a=1,b=2,",
            Render("{% for k, v in d.items() %}{{ k }}={{ v }},{% endfor %}", """{"d": {"a": 1, "b": 2}}"""));
        Assert.Equal("ab", Render("{% for k in d %}{{ k }}{% endfor %}", """{"d": {"a": 1, "b": 2}}"""));
    }

    [Fact]
    public void Render_SetInsideLoop_DoesNotLeakButNamespaceDoes()
    {
        string output = Render(
            "{% set total = 0 %}{% set ns = namespace(total=0, seen=[]) %}"
            + "{% for n in [1, 2, 3] %}{% set total = total + n %}{% set ns.total = ns.total + n %}{% endfor %}"
            + "{{ total }} {{ ns.total }}");
        Assert.Equal("0 6", output);
    }

    [Fact]
    public void Render_SetInsideIf_IsVisibleAfterwards()
    {
        Assert.Equal("inner", Render("{% set x = 'outer' %}{% if true %}{% set x = 'inner' %}{% endif %}{{ x }}"));
    }

    [Fact]
    public void Render_BlockSetAndTupleSet_AssignValues()
    {
        Assert.Equal("[ hi 3 ] 1-2", Render("{% set a, b = [1, 2] %}{% set text %} hi {{ 1 + 2 }} {% endset %}[{{ text }}] {{ a }}-{{ b }}"));
    }

    [Fact]
    public void Render_Macro_UsesDefaultsAndKeywordArguments()
    {
        string output = Render(
            "{% macro item(name, mark='*', end='.') %}{{ mark }} {{ name }}{{ end }}{% endmacro %}"
            + "{{ item('a') }}|{{ item('b', '-') }}|{{ item('c', end='!') }}");
        Assert.Equal("* a.|- b.|* c!", output);
    }

    [Theory]
    [InlineData("{{ '  x  ' | trim }}|{{ 'xxhixx' | trim('x') }}", "x|hi")]
    [InlineData("{{ 'hello world' | upper }} {{ 'ABC' | lower }}", "HELLO WORLD abc")]
    [InlineData("{{ \"it's a fine-day\" | title }}", "It's A Fine-Day")]
    [InlineData("{{ 'sHOUT' | capitalize }}", "Shout")]
    [InlineData("{{ [3, 1, 2] | length }} {{ 'abc' | count }} {{ {'a': 1} | length }}", "3 3 1")]
    [InlineData("{{ [3, 1, 2] | first }} {{ [3, 1, 2] | last }}", "3 2")]
    [InlineData("{{ ['a', 'b'] | join(', ') }} {{ [1, 2] | join }}", "a, b 12")]
    [InlineData("{{ missing | default('d') }} {{ '' | default('e') }}|{{ '' | d('f', true) }}", "d |f")]
    [InlineData("{{ 'a-b-c' | replace('-', '+') }} {{ 'aaa' | replace('a', 'b', 2) }}", "a+b+c bba")]
    [InlineData("{{ '42' | int + 1 }} {{ 'x' | int }} {{ '2.5' | float }} {{ 3.9 | int }} {{ 2 | float }}", "43 0 2.5 3 2.0")]
    [InlineData("{{ -3 | abs }} {{ 2.5 | round }} {{ 2.567 | round(2) }} {{ 2.1 | round(0, 'ceil') }}", "3 2.0 2.57 3.0")]
    [InlineData("{{ ['b', 'A', 'a', 'c'] | unique | list }}", "['b', 'A', 'c']")]
    [InlineData("{{ ['b', 'A', 'c'] | sort | join }} {{ [2, 3, 1] | sort(reverse=true) | join }}", "Abc 321")]
    [InlineData("{{ 'abc' | list }} {{ {'k': 1} | items | list }}", "['a', 'b', 'c'] [['k', 1]]")]
    [InlineData("{{ 5 | string ~ 'x' }} {{ [1, 2] | reverse | list }}", "5x [2, 1]")]
    [InlineData("{{ 'a\nb\n\nc' | indent(2) }}", "a\n  b\n\n  c")]
    [InlineData("{{ [1, 2, 3] | sum }} {{ [4, 2, 8] | max }} {{ [4, 2, 8] | min }}", "6 8 2")]
    [InlineData("{{ 'x' | safe }}", "x")]
    public void Render_Filters_MatchJinja(string template, string expected) =>
        Assert.Equal(expected, Render(template));

    [Fact]
    public void Render_AttributeFilters_SelectRejectAndMap()
    {
        const string People = """{"people": [{"name": "ann", "role": "user", "age": 30}, {"name": "bob", "role": "assistant"}, {"name": "cy", "role": "user", "age": 5}]}""";
        Assert.Equal("ann,cy", Render("{{ people | selectattr('role', 'equalto', 'user') | map(attribute='name') | join(',') }}", People));
        Assert.Equal("bob", Render("{{ people | rejectattr('role', '==', 'user') | map(attribute='name') | join(',') }}", People));
        Assert.Equal("ann,cy", Render("{{ people | selectattr('age') | map(attribute='name') | join(',') }}", People));
        Assert.Equal("30,0,5", Render("{{ people | map(attribute='age', default=0) | join(',') }}", People));
        Assert.Equal("ANN", Render("{{ (people | map(attribute='name') | map('upper') | list)[0] }}", People));
        Assert.Equal("1 3", Render("{{ [1, 2, 3, 4] | select('odd') | join(' ') }}"));
    }

    [Fact]
    public void Render_ToJson_MatchesPythonJsonDumps()
    {
        const string Value = """{"v": {"b": [1, 2.5, true, null], "a": "é <&> \"q\"\n", "e": {}, "l": []}}""";
        Assert.Equal("""{"b": [1, 2.5, true, null], "a": "é <&> \"q\"\n", "e": {}, "l": []}""", Render("{{ v | tojson }}", Value));
        Assert.Equal(
            "{\n  \"b\": [\n    1,\n    2.5,\n    true,\n    null\n  ],\n  \"a\": \"é <&> \\\"q\\\"\\n\",\n  \"e\": {},\n  \"l\": []\n}",
            Render("{{ v | tojson(indent=2) }}", Value));
        Assert.Equal("""{"a": 1, "b": 2}""", Render("{{ {'b': 2, 'a': 1} | tojson(sort_keys=true) }}"));
    }

    [Theory]
    [InlineData("{{ ' a b '.strip() }}|{{ 'xxaxx'.lstrip('x') }}|{{ 'xxaxx'.rstrip('x') }}", "a b|axx|xxa")]
    [InlineData("{{ 'abc'.startswith('a') }} {{ 'abc'.endswith(('x', 'c')) }}", "True True")]
    [InlineData("{{ 'a,b,,c'.split(',') }} {{ ' a  b '.split() }} {{ 'a b c'.split(' ', 1) }}", "['a', 'b', '', 'c'] ['a', 'b'] ['a', 'b c']")]
    [InlineData("{{ 'Hi'.upper() }}{{ 'Hi'.lower() }}{{ 'hello world'.title() }}{{ 'aXb'.replace('X', '-') }}", "HIhiHello Worlda-b")]
    [InlineData("{{ d.get('a') }} {{ d.get('z') }} {{ d.get('z', 0) }} {{ d.keys() | list }} {{ d.values() | list }}", "1 None 0 ['a'] [1]")]
    [InlineData("{% set l = [] %}{% set _ = l.append(1) %}{% set _ = l.append('two') %}{{ l }}", "[1, 'two']")]
    public void Render_Methods_MatchPython(string template, string expected) =>
        Assert.Equal(expected, Render(template, """{"d": {"a": 1}}"""));

    [Theory]
    [InlineData("x is defined", "F")]
    [InlineData("x is undefined", "T")]
    [InlineData("n is none", "T")]
    [InlineData("s is string", "T")]
    [InlineData("i is number and f is number and i is integer and f is float", "T")]
    [InlineData("d is mapping and l is mapping", "F")]
    [InlineData("s is iterable and l is iterable and d is iterable and i is iterable", "F")]
    [InlineData("s is sequence and l is sequence", "T")]
    [InlineData("t is boolean and t is true and not t is false and i is not boolean", "T")]
    [InlineData("i is odd and 4 is even and 9 is divisibleby 3 and 9 is divisibleby(3)", "T")]
    [InlineData("i is eq 3 and s is equalto 'txt' and i is ne 4 and i is gt 2 and i is lt 4", "T")]
    [InlineData("'a' is in ['a', 'b'] and n is sameas none", "T")]
    public void Render_Tests_ClassifyValues(string test, string expected) =>
        Assert.Equal(expected, Render($"{{{{ 'T' if {test} else 'F' }}}}", """{"n": null, "s": "txt", "i": 3, "f": 1.5, "d": {}, "l": [1], "t": true}"""));

    [Fact]
    public void Render_Undefined_IsFalsyEmptyAndIterableAsEmpty()
    {
        Assert.Equal("[]|0|no", Render("[{{ missing }}]|{{ missing | length }}|{% for x in missing %}x{% endfor %}{{ 'yes' if missing else 'no' }}"));
    }

    [Fact]
    public void Render_StrftimeNow_UsesTheGivenClock()
    {
        var options = new ChatTemplateOptions { Now = new DateTimeOffset(2024, 7, 6, 9, 3, 7, TimeSpan.Zero) };
        Assert.Equal(
            "06 Jul 2024|July|09:03:07|Sat|2024-07-06|%",
            Render("{{ strftime_now('%d %b %Y') }}|{{ strftime_now('%B') }}|{{ strftime_now('%H:%M:%S') }}|{{ strftime_now('%a') }}|{{ strftime_now('%Y-%m-%d') }}|{{ strftime_now('%%') }}", options: options));
    }

    [Fact]
    public void Render_GenerationBlock_RendersItsBody()
    {
        Assert.Equal("a<b>c", Render("a{% generation %}<b>{% endgeneration %}c"));
    }
}
