using System.Globalization;
using System.Text;

namespace Brim.ChatTemplates.Jinja;

/// <summary>Python's <c>strftime</c> for the directives templates use, in the C locale (English names).</summary>
internal static class Strftime
{
    public static string Format(DateTimeOffset time, string format)
    {
        var sb = new StringBuilder();
        for (int i = 0; i < format.Length; i++)
        {
            if (format[i] != '%' || i + 1 >= format.Length)
            {
                sb.Append(format[i]);
                continue;
            }

            char directive = format[++i];
            sb.Append(directive switch
            {
                'Y' => time.Year.ToString("D4", CultureInfo.InvariantCulture),
                'y' => (time.Year % 100).ToString("D2", CultureInfo.InvariantCulture),
                'm' => time.Month.ToString("D2", CultureInfo.InvariantCulture),
                'd' => time.Day.ToString("D2", CultureInfo.InvariantCulture),
                'e' => time.Day.ToString(CultureInfo.InvariantCulture).PadLeft(2),
                'j' => time.DayOfYear.ToString("D3", CultureInfo.InvariantCulture),
                'H' => time.Hour.ToString("D2", CultureInfo.InvariantCulture),
                'I' => ((time.Hour + 11) % 12 + 1).ToString("D2", CultureInfo.InvariantCulture),
                'M' => time.Minute.ToString("D2", CultureInfo.InvariantCulture),
                'S' => time.Second.ToString("D2", CultureInfo.InvariantCulture),
                'p' => time.Hour < 12 ? "AM" : "PM",
                'b' or 'h' => CultureInfo.InvariantCulture.DateTimeFormat.GetAbbreviatedMonthName(time.Month),
                'B' => CultureInfo.InvariantCulture.DateTimeFormat.GetMonthName(time.Month),
                'a' => CultureInfo.InvariantCulture.DateTimeFormat.GetAbbreviatedDayName(time.DayOfWeek),
                'A' => CultureInfo.InvariantCulture.DateTimeFormat.GetDayName(time.DayOfWeek),
                'F' => time.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture),
                'T' => time.ToString("HH:mm:ss", CultureInfo.InvariantCulture),
                '%' => "%",
                _ => "%" + directive,
            });
        }

        return sb.ToString();
    }
}
