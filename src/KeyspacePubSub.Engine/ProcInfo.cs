using System.Globalization;

namespace KeyspacePubSub.Engine;

/// <summary>Figures from Linux's /proc files that list "Field:   N kB" lines (meminfo, smaps_rollup).</summary>
internal static class ProcInfo
{
    /// <summary>The field's value in bytes; 0 where the file or the field is missing (not Linux, /proc hidden).</summary>
    public static long Bytes(string path, string field)
    {
        try
        {
            foreach (var line in File.ReadLines(path))
            {
                if (!line.StartsWith(field, StringComparison.Ordinal) || line.Length <= field.Length || line[field.Length] != ':') continue;
                var kb = line[(field.Length + 1)..].Trim().Split(' ')[0];
                return long.TryParse(kb, NumberStyles.None, CultureInfo.InvariantCulture, out long v) ? v * 1024 : 0;
            }
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
        }
        return 0;
    }
}
