using System.Buffers;
using System.Text;
using KeyspacePubSub.Protocol;

namespace KeyspacePubSub.Engine;

public sealed partial class Engine
{
    /// <summary>As replicationFeedMonitors: "+&lt;sec.usec&gt; [db addr] "arg" ..." to every MONITOR client (a Unix socket client: "[db unix:path]").</summary>
    private void FeedMonitors(Client c, CommandArgs args)
    {
        long micros = (DateTime.UtcNow - DateTime.UnixEpoch).Ticks / 10;
        var sb = new StringBuilder();
        sb.Append('+').Append(micros / 1_000_000).Append('.').Append((micros % 1_000_000).ToString("D6"))
          .Append(" [").Append(c.Db).Append(' ');
        if (c.Transport.IsUnixSocket) sb.Append("unix:").Append(Config.UnixSocket);
        else sb.Append(c.Transport.RemoteAddress);
        sb.Append(']');
        for (int i = 0; i < args.Count; i++)
        {
            sb.Append(' ');
            if (_redacted.Contains(i)) sb.Append("\"(redacted)\"");
            else AppendRepr(sb, args[i]);
        }
        sb.Append("\r\n");
        var line = Encoding.Latin1.GetBytes(sb.ToString());
        foreach (var m in _monitors)
        {
            if (m.Closed || ReferenceEquals(m, c) && args.Is(0, "MONITOR")) continue;
            m.Transport.Output.Write(line);
            MarkForFlush(m);
        }
    }

    /// <summary>As Redis's sdscatrepr: quoted, with C escapes and \xHH for unprintable bytes.</summary>
    public static void AppendRepr(StringBuilder sb, ReadOnlySpan<byte> s)
    {
        sb.Append('"');
        foreach (byte b in s)
        {
            switch (b)
            {
                case (byte)'\\': sb.Append("\\\\"); break;
                case (byte)'"': sb.Append("\\\""); break;
                case (byte)'\n': sb.Append("\\n"); break;
                case (byte)'\r': sb.Append("\\r"); break;
                case (byte)'\t': sb.Append("\\t"); break;
                case 7: sb.Append("\\a"); break;
                case 8: sb.Append("\\b"); break;
                default:
                    if (b >= 32 && b < 127) sb.Append((char)b);
                    else sb.Append("\\x").Append(b.ToString("x2"));
                    break;
            }
        }
        sb.Append('"');
    }
}
