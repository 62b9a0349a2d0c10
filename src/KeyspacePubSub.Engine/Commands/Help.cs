using KeyspacePubSub.Protocol;

namespace KeyspacePubSub.Engine.Commands;

/// <summary>As Redis's addReplyHelp: a header line, the given lines, then HELP, all as simple strings.</summary>
internal static class Help
{
    public static void Reply(RespWriter r, string command, params string[] lines)
    {
        r.Array(lines.Length + 3);
        r.SimpleString($"{command} <subcommand> [<arg> [value] [opt] ...]. Subcommands are:");
        foreach (var line in lines) r.SimpleString(line);
        r.SimpleString("HELP");
        r.SimpleString("    Prints this help.");
    }
}
