using System.Text;

namespace KeyspacePubSub.Engine;

/// <summary>
/// ASCII sparklines as Redis draws them for LATENCY GRAPH (src/sparkline.c): each column a sample, <c>rows</c>
/// rows of three levels each (<c>_o#</c>, full columns <c>|</c> below), then the samples' labels written
/// downwards, one character a row, under a blank row; a sequence wider than the columns continues below.
/// </summary>
internal static class Sparkline
{
    private const string Charset = "_-`", CharsetFill = "_o#";
    private const int LabelMarginTop = 1;

    public static void Render(StringBuilder output, IReadOnlyList<(double Value, string? Label)> samples, int columns, int rows, bool fill)
    {
        if (samples.Count == 0) return;
        double min = samples[0].Value, max = min;
        int labels = 0;
        foreach (var (value, label) in samples)
        {
            if (value < min) min = value;
            else if (value > max) max = value;
            if (!string.IsNullOrEmpty(label)) labels++;
        }
        for (int j = 0; j < samples.Count; j += columns)
        {
            if (j != 0) output.Append('\n');
            RenderRange(output, samples, min, max, labels, rows, j, Math.Min(columns, samples.Count - j), fill);
        }
    }

    private static void RenderRange(StringBuilder output, IReadOnlyList<(double Value, string? Label)> samples, double min, double max,
        int labels, int rows, int offset, int len, bool fill)
    {
        double relmax = max - min;
        if (relmax == 0) relmax = 1;
        int steps = Charset.Length * rows;
        var chars = new char[len];
        bool loop = true;
        for (int row = 0; loop; )
        {
            loop = false;
            Array.Fill(chars, ' ');
            for (int j = 0; j < len; j++)
            {
                var (value, label) = samples[j + offset];
                double relval = value - min;
                int step = (int)((int)(relval * steps) / relmax); // as C's (int)(relval*steps)/relmax, truncated again
                if (step < 0) step = 0;
                if (step >= steps) step = steps - 1;
                if (row < rows)
                {
                    int charIndex = step - (rows - row - 1) * Charset.Length;
                    loop = true;
                    if (charIndex >= 0 && charIndex < Charset.Length) chars[j] = fill ? CharsetFill[charIndex] : Charset[charIndex];
                    else if (fill && charIndex >= Charset.Length) chars[j] = '|';
                }
                else
                {
                    if (labels > 0 && row - rows < LabelMarginTop)
                    {
                        loop = true; // a blank row between the graph and the labels
                        break;
                    }
                    int labelChar = row - rows - LabelMarginTop;
                    if (!string.IsNullOrEmpty(label) && label.Length > labelChar)
                    {
                        loop = true;
                        chars[j] = label[labelChar];
                    }
                }
            }
            if (loop)
            {
                row++;
                output.Append(chars).Append('\n');
            }
        }
    }
}
