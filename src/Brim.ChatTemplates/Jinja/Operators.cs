using System.Text;

namespace Brim.ChatTemplates.Jinja;

/// <summary>Arithmetic and concatenation with Python's rules (bool counts as int; int op int stays int).</summary>
internal static class Operators
{
    public static object? Binary(string op, object? left, object? right, RenderBudget budget)
    {
        if (op == "~")
        {
            string joined = ValueOps.ToStr(left) + ValueOps.ToStr(right);
            budget.CheckSize(joined.Length);
            return joined;
        }

        if (left is Undefined undefinedLeft)
        {
            throw new TemplateRuntimeError(undefinedLeft.Description);
        }

        if (right is Undefined undefinedRight)
        {
            throw new TemplateRuntimeError(undefinedRight.Description);
        }

        switch (op)
        {
            case "+" when left is string a && right is string b:
                budget.CheckSize((long)a.Length + b.Length);
                return a + b;
            case "+" when left is List<object?> a && right is List<object?> b:
                budget.CheckSize((long)a.Count + b.Count);
                return new List<object?>(a.Concat(b));
            case "*" when left is string s && IsInteger(right, out long n):
                return Repeat(s, n, budget);
            case "*" when right is string s && IsInteger(left, out long n):
                return Repeat(s, n, budget);
            case "*" when left is List<object?> list && IsInteger(right, out long n):
                return RepeatList(list, n, budget);
        }

        if (IsInteger(left, out long x) && IsInteger(right, out long y))
        {
            return IntegerArithmetic(op, x, y);
        }

        if (ValueOps.TryGetNumber(left, out double p) && ValueOps.TryGetNumber(right, out double q))
        {
            return FloatArithmetic(op, p, q);
        }

        throw new TemplateRuntimeError(
            $"unsupported operand type(s) for {op}: '{ValueOps.TypeName(left)}' and '{ValueOps.TypeName(right)}'");
    }

    public static object? Unary(string op, object? operand)
    {
        // Arms are boxed one by one: a switch over long and double arms would otherwise convert every result to double.
        return operand switch
        {
            long l => (object)(op == "-" ? checked(-l) : l),
            bool b => (object)(op == "-" ? -(b ? 1L : 0L) : (b ? 1L : 0L)),
            double d => (object)(op == "-" ? -d : d),
            Undefined u => throw new TemplateRuntimeError(u.Description),
            _ => throw new TemplateRuntimeError($"bad operand type for unary {op}: '{ValueOps.TypeName(operand)}'"),
        };
    }

    private static bool IsInteger(object? value, out long integer)
    {
        switch (value)
        {
            case long l: integer = l; return true;
            case bool b: integer = b ? 1 : 0; return true;
            default: integer = 0; return false;
        }
    }

    private static object IntegerArithmetic(string op, long x, long y)
    {
        try
        {
            // Each arm is boxed on its own: a switch mixing long and double arms would turn every result into double.
            return op switch
            {
                "+" => (object)checked(x + y),
                "-" => (object)checked(x - y),
                "*" => (object)checked(x * y),
                "/" => y == 0 ? throw DivisionByZero() : (object)((double)x / y),
                "//" => y == 0 ? throw DivisionByZero() : (object)FloorDivide(x, y),
                "%" => y == 0 ? throw DivisionByZero() : (object)FloorModulo(x, y),
                "**" => y < 0 ? (object)Math.Pow(x, y) : (object)IntegerPower(x, y),
                _ => throw new TemplateRuntimeError($"unknown operator '{op}'"),
            };
        }
        catch (OverflowException)
        {
            throw new TemplateRuntimeError($"integer overflow in '{op}'");
        }
    }

    private static double FloatArithmetic(string op, double x, double y) => op switch
    {
        "+" => x + y,
        "-" => x - y,
        "*" => x * y,
        "/" => y == 0 ? throw DivisionByZero() : x / y,
        "//" => y == 0 ? throw DivisionByZero() : Math.Floor(x / y),
        "%" => y == 0 ? throw DivisionByZero() : x - (y * Math.Floor(x / y)),
        "**" => Math.Pow(x, y),
        _ => throw new TemplateRuntimeError($"unknown operator '{op}'"),
    };

    private static long FloorDivide(long x, long y)
    {
        long quotient = x / y;
        return (x % y != 0) && ((x < 0) != (y < 0)) ? quotient - 1 : quotient;
    }

    private static long FloorModulo(long x, long y)
    {
        long remainder = x % y;
        return remainder != 0 && ((remainder < 0) != (y < 0)) ? remainder + y : remainder;
    }

    private static long IntegerPower(long x, long y)
    {
        // Square-and-multiply: at most 63 rounds, and overflow raises instead of wrapping.
        long result = 1;
        while (y > 0)
        {
            if ((y & 1) == 1)
            {
                result = checked(result * x);
            }

            y >>= 1;
            if (y > 0)
            {
                x = checked(x * x);
            }
        }

        return result;
    }

    private static string Repeat(string s, long count, RenderBudget budget)
    {
        if (count <= 0 || s.Length == 0)
        {
            return "";
        }

        budget.CheckSize(s.Length * count);
        return new StringBuilder(s.Length * (int)count).Insert(0, s, (int)count).ToString();
    }

    private static List<object?> RepeatList(List<object?> list, long count, RenderBudget budget)
    {
        var result = new List<object?>();
        if (count <= 0)
        {
            return result;
        }

        budget.CheckSize(list.Count * count);
        for (long i = 0; i < count; i++)
        {
            result.AddRange(list);
        }

        return result;
    }

    private static TemplateRuntimeError DivisionByZero() => new("division by zero");
}
