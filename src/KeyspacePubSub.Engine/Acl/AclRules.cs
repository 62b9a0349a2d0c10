namespace KeyspacePubSub.Engine.Acl;

/// <summary>What ACL SETUSER, the ACL file and the configuration share about rules: Redis's error texts, and selectors given over several arguments.</summary>
internal static class AclRules
{
    /// <summary>As ACLSetUserStringError.</summary>
    public static string ErrorText(AclRuleError e) => e switch
    {
        AclRuleError.UnknownCommand => "Unknown command or category name in ACL",
        AclRuleError.Syntax => "Syntax error",
        AclRuleError.KeyAfterAll => "Adding a pattern after the * pattern (or the 'allkeys' flag) is not valid and does not have any effect. Try 'resetkeys' to start with an empty list of patterns",
        AclRuleError.ChannelAfterAll => "Adding a pattern after the * pattern (or the 'allchannels' flag) is not valid and does not have any effect. Try 'resetchannels' to start with an empty list of channels",
        AclRuleError.NoSuchPassword => "The password you are trying to remove from the user does not exist",
        AclRuleError.BadHash => "The password hash must be exactly 64 characters and contain only lowercase hexadecimal characters",
        AclRuleError.Duplicate => "Duplicate user found. A user can only be defined once in config files",
        AclRuleError.SubcommandFirstArg => "Allowing first-arg of a subcommand is not supported",
        _ => "Wrong format",
    };

    /// <summary>
    /// As ACLMergeSelectorArguments: a selector given over several arguments, "(~a" "+get)", is one rule; null
    /// (and the index of the argument that opened it) when a parenthesis is left open.
    /// </summary>
    public static List<byte[]>? MergeSelectors(IReadOnlyList<byte[]> args, out int openedAt)
    {
        var merged = new List<byte[]>();
        openedAt = -1;
        List<byte>? selector = null;
        for (int j = 0; j < args.Count; j++)
        {
            var op = args[j];
            if (op.Length > 0 && op[0] == '(' && op[^1] != ')')
            {
                selector = [.. op];
                openedAt = j;
                continue;
            }
            if (openedAt != -1)
            {
                selector!.Add((byte)' ');
                selector.AddRange(op);
                if (op.Length > 0 && op[^1] == ')')
                {
                    openedAt = -1;
                    merged.Add([.. selector]);
                }
                continue;
            }
            merged.Add(op);
        }
        return openedAt != -1 ? null : merged;
    }
}
