using System.Text;
using KeyspacePubSub.Engine.Commands;

namespace KeyspacePubSub.Engine.Acl;

/// <summary>
/// A user's rules written back as ACL LIST and ACL GETUSER show them (Redis 7.0's ACLDescribeUser): flags,
/// password hashes, then each selector's keys, channels and command rules. The command rules are rebuilt from
/// the bitmap as Redis rebuilds them: +@all or -@all first, then the categories that best fit what is left,
/// one at a time, then single commands (and allowed first arguments) until the bitmap is exactly matched.
/// Redis lists those single commands in its command dict's order, which changes from one redis-server run to
/// the next; this server lists them in its table's order.
/// </summary>
internal static class AclDescribe
{
    public static string User(AccessControl acl, AclUser u)
    {
        var sb = new StringBuilder();
        sb.Append(u.Enabled ? "on " : "off ");
        if (u.NoPass) sb.Append("nopass ");
        if (u.SanitizePayload == false) sb.Append("skip-sanitize-payload ");
        if (u.SanitizePayload == true) sb.Append("sanitize-payload ");
        foreach (var p in u.Passwords) sb.Append('#').Append(p).Append(' ');
        foreach (var s in u.Selectors)
        {
            string d = Selector(acl, s);
            if (s.Root) sb.Append(d);
            else sb.Append(" (").Append(d).Append(')');
        }
        return sb.ToString();
    }

    public static string Selector(AccessControl acl, AclSelector s)
    {
        var sb = new StringBuilder();
        if (s.AllKeys) sb.Append("~* ");
        else foreach (var k in s.Keys) sb.Append(k.Describe()).Append(' ');
        if (s.AllChannels) sb.Append("&* ");
        else
        {
            sb.Append("resetchannels ");
            foreach (var c in s.Channels) sb.Append('&').Append(Encoding.Latin1.GetString(c)).Append(' ');
        }
        sb.Append(CommandRules(acl, s));
        return sb.ToString();
    }

    /// <summary>ACL GETUSER's "keys": the patterns joined by spaces, or ~*.</summary>
    public static string KeysField(AclSelector s) => s.AllKeys ? "~*" : string.Join(' ', s.Keys.Select(k => k.Describe()));

    /// <summary>ACL GETUSER's "channels": the patterns joined by spaces, or &amp;*.</summary>
    public static string ChannelsField(AclSelector s) => s.AllChannels ? "&*" : string.Join(' ', s.Channels.Select(c => "&" + Encoding.Latin1.GetString(c)));

    /// <summary>As ACLDescribeSelectorCommandRules.</summary>
    public static string CommandRules(AccessControl acl, AclSelector s)
    {
        var table = acl.Commands;
        var rules = new StringBuilder();
        // A selector the rules are applied to as they are written out, to know what is left to describe.
        var fake = new AclSelector(root: false, allChannels: false);
        bool additive;
        if (s.CanRunFutureCommands(table))
        {
            additive = false;
            rules.Append("+@all ");
            fake.AllowAll();
        }
        else
        {
            additive = true;
            rules.Append("-@all ");
            fake.DenyAll();
        }
        // The categories: each round, the one not yet used whose commands agree with the user on more commands
        // than they differ, with the fewest differences (then the most agreements). "temp" has each chosen
        // category's commands turned back, so later rounds count only what is left.
        var temp = s.Clone();
        var applied = new HashSet<AclCategory>();
        while (true)
        {
            AclCategory best = AclCategory.None;
            int minDiff = int.MaxValue, maxSame = 0;
            foreach (var category in AclCommands.CategoryOrder())
            {
                if (applied.Contains(category)) continue;
                var (on, off) = temp.CountCategory(table, category);
                int diff = additive ? off : on, same = additive ? on : off;
                if (same > diff && (diff < minDiff || (diff == minDiff && same > maxSame)))
                {
                    best = category;
                    minDiff = diff;
                    maxSame = same;
                }
            }
            if (best == AclCategory.None) break;
            fake.ChangeCategory(table, best, additive);
            temp.ChangeCategory(table, best, !additive);
            rules.Append(additive ? "+@" : "-@").Append(AclCommands.Name(best)).Append(' ');
            applied.Add(best);
        }
        // Single commands where the bitmaps still differ, a container before its subcommands.
        foreach (var top in table.TopLevel)
        {
            SingleCommand(table, s, fake, top, rules);
            foreach (var sub in top.Subcommands) SingleCommand(table, s, fake, sub, rules);
            if (!s.Allows(top) && s.FirstArgs?.GetValueOrDefault(top.Id) is { } firstArgs)
            {
                foreach (var arg in firstArgs) rules.Append('+').Append(top.FullName).Append('|').Append(arg).Append(' ');
            }
        }
        if (!fake.SameBits(s, table)) throw new InvalidOperationException("ACL rules do not describe the user's commands");
        return rules.ToString(0, rules.Length - 1);
    }

    private static void SingleCommand(AclCommands table, AclSelector s, AclSelector fake, AclCommandEntry cmd, StringBuilder rules)
    {
        if (cmd.Newer) return;
        bool user = s.Allows(cmd);
        if (user == fake.Allows(cmd)) return;
        rules.Append(user ? '+' : '-').Append(cmd.FullName).Append(' ');
        fake.Change(table, cmd, user);
    }
}
