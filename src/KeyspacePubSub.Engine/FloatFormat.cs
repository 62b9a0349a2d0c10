using System.Globalization;

namespace KeyspacePubSub.Engine;

/// <summary>
/// Arithmetic and formatting for INCRBYFLOAT / HINCRBYFLOAT. Redis adds in 80-bit long double and prints
/// "%.17Lf" with trailing zeros removed, so 0.1 + 0.2 prints "0.3"; decimal arithmetic reproduces that for
/// every value decimal can hold, and doubles (formatted the same way) take over beyond.
/// </summary>
public static class FloatFormat
{
    public static bool TryAdd(double current, double increment, ReadOnlySpan<byte> currentText, ReadOnlySpan<byte> incrementText, out string result)
    {
        result = "";
        if (TryDecimal(currentText, out decimal a) && TryDecimal(incrementText, out decimal b))
        {
            try
            {
                result = Trim((a + b).ToString("0.#################", CultureInfo.InvariantCulture));
                return true;
            }
            catch (OverflowException)
            {
            }
        }
        double sum = current + increment;
        if (double.IsNaN(sum) || double.IsInfinity(sum)) return false;
        result = Trim(sum.ToString("F17", CultureInfo.InvariantCulture));
        return true;
    }

    private static bool TryDecimal(ReadOnlySpan<byte> text, out decimal value)
    {
        value = 0;
        if (text.Length == 0) return true;
        return decimal.TryParse(System.Text.Encoding.ASCII.GetString(text), NumberStyles.Float, CultureInfo.InvariantCulture, out value);
    }

    private static string Trim(string s)
    {
        if (s.Contains('.')) s = s.TrimEnd('0').TrimEnd('.');
        return s == "-0" ? "0" : s;
    }
}
