using System.Text;
using KeyspacePubSub.Engine.Commands;
using Microsoft.Extensions.Logging;

namespace KeyspacePubSub.Engine.Acl;

/// <summary>
/// The ACL file (aclfile): one <c>user &lt;name&gt; rules...</c> line per user, as ACL LIST writes them. ACL
/// LOAD and the start read it as Redis's ACLLoadFromFile (all or nothing: with any error the users stay as
/// they were, and every error is reported on one line); ACL SAVE writes it as ACLSaveToFile (a temporary
/// file renamed over it).
/// </summary>
internal static class AclFile
{
    /// <summary>Loads the users of the file in place of the current ones; null, or the errors (nothing changed).</summary>
    public static string? Load(AccessControl acl, string path)
    {
        string text;
        try
        {
            text = Encoding.Latin1.GetString(File.ReadAllBytes(path));
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return $"Error loading ACLs, opening file '{path}': {ErrorText(ex)}";
        }
        var errors = new StringBuilder();
        var users = new SortedDictionary<byte[], AclUser>(acl.Users.Comparer);
        string[] lines = text.Split('\n');
        for (int i = 0; i < lines.Length; i++)
        {
            int lineNo = i + 1;
            string line = lines[i].Trim(' ', '\t', '\r', '\n');
            if (line.Length == 0) continue;
            string[] argv = line.Split(' '); // (sdssplitlen: two spaces give an empty rule, which does nothing)
            if (argv[0] != "user" || argv.Length < 2)
            {
                errors.Append($"{path}:{lineNo} should start with user keyword followed by the username. ");
                continue;
            }
            var name = Encoding.Latin1.GetBytes(argv[1]);
            if (AclSelector.HasSpaces(name))
            {
                errors.Append($"'{path}:{lineNo}: username '{argv[1]}' contains invalid characters. ");
                continue;
            }
            if (users.ContainsKey(name))
            {
                errors.Append($"WARNING: Duplicate user '{argv[1]}' found on line {lineNo}. ");
                continue;
            }
            var user = new AclUser(name, acl.PubSubDefaultAllChannels);
            users.Add(name, user);
            var merged = AclRules.MergeSelectors([.. argv.Skip(2).Select(Encoding.Latin1.GetBytes)], out _);
            if (merged is null) errors.Append($"{path}:{lineNo}: Unmatched parenthesis in selector definition.");
            bool syntaxError = false;
            foreach (var raw in merged ?? [])
            {
                var rule = Encoding.Latin1.GetBytes(Encoding.Latin1.GetString(raw).Trim('\t', '\r', '\n'));
                var error = user.Apply(acl, rule);
                if (error == AclRuleError.None) continue;
                if (error == AclRuleError.UnknownCommand)
                {
                    errors.Append($"{path}:{lineNo}: Error in applying operation '{Encoding.Latin1.GetString(rule)}': {AclRules.ErrorText(error)}. ");
                }
                else if (!syntaxError)
                {
                    errors.Append($"{path}:{lineNo}: {AclRules.ErrorText(error)}. ");
                    syntaxError = true;
                }
            }
        }
        if (errors.Length > 0)
        {
            errors.Append("WARNING: ACL errors detected, no change to the previously active ACL rules was performed");
            return errors.ToString();
        }
        acl.Replace(users);
        return null;
    }

    /// <summary>Writes every user as ACL LIST shows it; false (logged) when the file cannot be written.</summary>
    public static bool Save(AccessControl acl, string path, ILogger logger)
    {
        var sb = new StringBuilder();
        foreach (var u in acl.Users.Values) sb.Append("user ").Append(u.NameText).Append(' ').Append(AclDescribe.User(acl, u)).Append('\n');
        string temp = $"{path}.tmp-{Environment.ProcessId}-{DateTimeOffset.UtcNow.ToUnixTimeMilliseconds()}";
        try
        {
            File.WriteAllBytes(temp, Encoding.Latin1.GetBytes(sb.ToString()));
            File.Move(temp, path, overwrite: true);
            return true;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            logger.LogWarning("Saving the ACL file for ACL SAVE: {Error}", ex.Message);
            try { File.Delete(temp); } catch (Exception e) when (e is IOException or UnauthorizedAccessException) { }
            return false;
        }
    }

    /// <summary>strerror's text for the usual causes.</summary>
    private static string ErrorText(Exception ex) => ex switch
    {
        FileNotFoundException or DirectoryNotFoundException => "No such file or directory",
        UnauthorizedAccessException => "Permission denied",
        _ => ex.Message,
    };
}
