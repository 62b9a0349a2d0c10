using System.Text;
using KeyspacePubSub.Engine.Rdb;
using KeyspacePubSub.Engine.Scripting;
using KeyspacePubSub.Protocol;
using static KeyspacePubSub.Engine.Commands.CommandFlags;

namespace KeyspacePubSub.Engine.Commands;

/// <summary>FCALL, FCALL_RO and FUNCTION (src/functions.c).</summary>
internal static class FunctionCommands
{
    public static void Register(CommandTable t)
    {
        const CommandFlags FCall = NoScript | SkipMonitor | NoMandatoryKeys | Stale | MovableKeys;
        t.Add(new() { Name = "fcall", Arity = -3, Flags = FCall | MayReplicate, Handler = static x => x.Engine.FCallCommand(x, ro: false), KeyNumIndex = 2, RunsScript = true, Group = "scripting", Since = "7.0.0", Summary = "Invoke a function" });
        t.Add(new() { Name = "fcall_ro", Arity = -3, Flags = FCall | ReadOnly, Handler = static x => x.Engine.FCallCommand(x, ro: true), KeyNumIndex = 2, RunsScript = true, Group = "scripting", Since = "7.0.0", Summary = "Invoke a read-only function" });
        t.AddContainer(new() { Name = "function", Arity = -2, Group = "scripting", Since = "7.0.0", Summary = "A container for function commands." },
            new CommandDef { Name = "delete", Arity = 3, Flags = NoScript | Write, Handler = Delete, Group = "scripting", Since = "7.0.0" },
            new CommandDef { Name = "dump", Arity = 2, Flags = NoScript, Handler = Dump, Group = "scripting", Since = "7.0.0" },
            new CommandDef { Name = "flush", Arity = -2, Flags = NoScript | Write, Handler = Flush, Group = "scripting", Since = "7.0.0" },
            new CommandDef { Name = "help", Arity = 2, Flags = Loading | Stale, Handler = HelpReply, Group = "scripting", Since = "7.0.0" },
            new CommandDef { Name = "kill", Arity = 2, Flags = NoScript | AllowBusy, Handler = static x => x.Reply.Error("NOTBUSY No scripts in execution right now."), Group = "scripting", Since = "7.0.0" },
            new CommandDef { Name = "list", Arity = -2, Flags = NoScript, Handler = List, Group = "scripting", Since = "7.0.0" },
            new CommandDef { Name = "load", Arity = -3, Flags = NoScript | Write | DenyOom, Handler = Load, Group = "scripting", Since = "7.0.0" },
            new CommandDef { Name = "restore", Arity = -3, Flags = NoScript | Write | DenyOom, Handler = Restore, Group = "scripting", Since = "7.0.0" },
            new CommandDef { Name = "stats", Arity = 2, Flags = NoScript | AllowBusy, Handler = Stats, Group = "scripting", Since = "7.0.0" });
    }

    private static string Text(ReadOnlySpan<byte> b) => Encoding.Latin1.GetString(b);

    /// <summary>FUNCTION LOAD [REPLACE] code: the library's name.</summary>
    private static void Load(CommandContext x)
    {
        bool replace = false;
        int pos = 2;
        while (pos < x.Args.Count - 1)
        {
            if (!x.Args.Is(pos, "REPLACE"))
            {
                x.Reply.Error("ERR Unknown option given: " + Text(x.Args[pos]));
                return;
            }
            replace = true;
            pos++;
        }
        var scripting = x.Engine.Scripting;
        byte[] code = x.Args[pos].ToArray();
        if (scripting.CreateLibrary(code, replace, scripting.Functions, out string error) is not { } name)
        {
            x.Reply.Error("ERR " + error);
            return;
        }
        x.Engine.Durable?.FunctionStored(name, code); // with persistence on, libraries outlive a restart (as in Redis's RDB and AOF)
        x.Reply.Bulk(name);
    }

    private static void Delete(CommandContext x)
    {
        var functions = x.Engine.Scripting.Functions;
        if (functions.Library(Text(x.Args[2])) is not { } library)
        {
            x.Reply.Error("ERR Library not found");
            return;
        }
        functions.Unlink(library);
        x.Engine.Durable?.FunctionDeleted(library.Name);
        x.Reply.Ok();
    }

    /// <summary>FUNCTION FLUSH [ASYNC|SYNC].</summary>
    private static void Flush(CommandContext x)
    {
        if (x.Args.Count > 3) PubSubCommands.SubcommandSyntaxError(x);
        else if (x.Args.Count == 3 && !(x.Args.Is(2, "ASYNC") || x.Args.Is(2, "SYNC"))) x.Reply.Error("ERR FUNCTION FLUSH only supports SYNC|ASYNC option");
        else
        {
            x.Engine.ScriptingIfStarted?.Functions.Clear();
            x.Engine.Durable?.FunctionsFlushed();
            x.Reply.Ok();
        }
    }

    /// <summary>FUNCTION LIST [LIBRARYNAME pattern] [WITHCODE]: each option once; a second is an unknown argument.</summary>
    private static void List(CommandContext x)
    {
        bool withCode = false;
        byte[]? pattern = null;
        for (int i = 2; i < x.Args.Count; i++)
        {
            if (!withCode && x.Args.Is(i, "WITHCODE"))
            {
                withCode = true;
                continue;
            }
            if (pattern is null && x.Args.Is(i, "LIBRARYNAME"))
            {
                if (i >= x.Args.Count - 1)
                {
                    x.Reply.Error("ERR library name argument was not given");
                    return;
                }
                pattern = x.Args[++i].ToArray();
                continue;
            }
            x.Reply.Error("ERR Unknown argument " + Text(x.Args[i]));
            return;
        }
        var libraries = x.Engine.ScriptingIfStarted?.Functions.Libraries.ToList() ?? [];
        // stringmatchlen with nocase: both sides lower-cased (C locale) match as it would.
        if (pattern != null) libraries = libraries.FindAll(l => PubSub.GlobPattern.IsMatch(LowerAscii(pattern), LowerAscii(Encoding.Latin1.GetBytes(l.Name))));
        x.Reply.Array(libraries.Count);
        foreach (var library in libraries)
        {
            x.Reply.Map(withCode ? 4 : 3);
            x.Reply.Bulk("library_name");
            x.Reply.Bulk(library.Name);
            x.Reply.Bulk("engine");
            x.Reply.Bulk(FunctionLibrary.EngineName);
            x.Reply.Bulk("functions");
            x.Reply.Array(library.Functions.Count);
            foreach (var f in library.Functions)
            {
                x.Reply.Map(3);
                x.Reply.Bulk("name");
                x.Reply.Bulk(f.Name);
                x.Reply.Bulk("description");
                if (f.Description is null) x.Reply.NullBulk();
                else x.Reply.Bulk(f.Description);
                x.Reply.Bulk("flags");
                ReplyFlags(x.Reply, f.Flags);
            }
            if (withCode)
            {
                x.Reply.Bulk("library_code");
                x.Reply.Bulk(library.Code);
            }
        }
    }

    private static byte[] LowerAscii(byte[] bytes)
    {
        var lower = (byte[])bytes.Clone();
        for (int i = 0; i < lower.Length; i++)
        {
            if (lower[i] is >= (byte)'A' and <= (byte)'Z') lower[i] += 'a' - 'A';
        }
        return lower;
    }

    /// <summary>functionListReplyFlags: a set of status replies, in scripts_flags_def's order.</summary>
    private static void ReplyFlags(RespWriter reply, ScriptFlags flags)
    {
        var names = ScriptCache.FlagNames;
        reply.Set(names.Count(n => (flags & n.Flag) != 0));
        foreach (var (flag, name) in names)
        {
            if ((flags & flag) != 0) reply.SimpleString(name);
        }
    }

    /// <summary>
    /// FUNCTION STATS: the running function (none can be seen running here: a script runs to its end on the loop
    /// that would answer) and each engine's counts.
    /// </summary>
    private static void Stats(CommandContext x)
    {
        var functions = x.Engine.ScriptingIfStarted?.Functions;
        x.Reply.Map(2);
        x.Reply.Bulk("running_script");
        x.Reply.NullBulk();
        x.Reply.Bulk("engines");
        x.Reply.Map(1);
        x.Reply.Bulk(FunctionLibrary.EngineName);
        x.Reply.Map(2);
        x.Reply.Bulk("libraries_count");
        x.Reply.Integer(functions?.LibraryCount ?? 0);
        x.Reply.Bulk("functions_count");
        x.Reply.Integer(functions?.RegisteredCount ?? 0);
    }

    private const byte OpcodeFunction2 = 245, OpcodeFunction = 246;

    /// <summary>FUNCTION DUMP: each library's code after an RDB_OPCODE_FUNCTION2, then the RDB version and a CRC-64, as DUMP's payloads.</summary>
    private static void Dump(CommandContext x)
    {
        var w = new RdbBuffer();
        foreach (var library in x.Engine.ScriptingIfStarted?.Functions.Libraries ?? [])
        {
            w.Byte(OpcodeFunction2);
            w.RawString(library.Code);
        }
        DumpPayload.AppendFooter(w);
        x.Reply.Bulk(w.Written);
    }

    /// <summary>FUNCTION RESTORE payload [FLUSH|APPEND|REPLACE] (functionRestoreCommand).</summary>
    private static void Restore(CommandContext x)
    {
        if (x.Args.Count > 4)
        {
            PubSubCommands.SubcommandSyntaxError(x);
            return;
        }
        string policy = x.Args.Count == 4 ? Text(x.Args[3]).ToLowerInvariant() : "append";
        if (policy is not ("append" or "replace" or "flush"))
        {
            x.Reply.Error("ERR Wrong restore policy given, value should be either FLUSH, APPEND or REPLACE.");
            return;
        }
        var payload = x.Args[2];
        if (!RestorePayload.Verify(payload, x.Engine.SkipChecksumValidation))
        {
            x.Reply.Error("ERR DUMP payload version or checksum are wrong");
            return;
        }
        var scripting = x.Engine.Scripting;
        var restored = new FunctionLibraries();
        string? error = null;
        int pos = 0;
        // As rdbFunctionLoad, until the last 10 bytes (the version and the checksum).
        while (error is null && payload.Length - pos > 10)
        {
            int type = payload[pos++];
            if (type is not (OpcodeFunction2 or OpcodeFunction))
            {
                error = "given type is not a function";
                break;
            }
            byte[]? code = type == OpcodeFunction2 ? RestorePayload.ReadString(payload, ref pos) : OldFormatCode(payload, ref pos, out error);
            if (code is null)
            {
                error ??= "Failed loading library payload";
                break;
            }
            if (scripting.CreateLibrary(code, replace: false, restored, out string createError) is null) error = createError;
        }
        if (error != null)
        {
            x.Reply.Error("ERR " + error);
            return;
        }
        var libraries = restored.Libraries.ToList();
        if (policy == "flush") scripting.Functions.Clear();
        if (scripting.Functions.Join(restored, replace: policy == "replace") is { } joinError)
        {
            x.Reply.Error("ERR " + joinError);
            return;
        }
        if (x.Engine.Durable is { } durable)
        {
            if (policy == "flush") durable.FunctionsFlushed();
            foreach (var library in libraries) durable.FunctionStored(library.Name, library.Code);
        }
        x.Reply.Ok();
    }

    /// <summary>RDB_OPCODE_FUNCTION (7.0-rc1/rc2): name, engine, an optional description, and the code, made into a library's code.</summary>
    private static byte[]? OldFormatCode(ReadOnlySpan<byte> payload, ref int pos, out string? error)
    {
        error = null;
        var name = RestorePayload.ReadString(payload, ref pos);
        if (name is null) return Failed(out error, "Failed loading library name");
        var engine = RestorePayload.ReadString(payload, ref pos);
        if (engine is null) return Failed(out error, "Failed loading engine name");
        if (RestorePayload.ReadLength(payload, ref pos) is not { } hasDescription) return Failed(out error, "Failed loading library description indicator");
        if (hasDescription != 0 && RestorePayload.ReadString(payload, ref pos) is null) return Failed(out error, "Failed loading library description");
        var blob = RestorePayload.ReadString(payload, ref pos);
        if (blob is null) return Failed(out error, "Failed loading library blob");
        return [.. "#!"u8, .. engine, .. " name="u8, .. name, (byte)'\n', .. blob];
    }

    private static byte[]? Failed(out string? error, string text)
    {
        error = text;
        return null;
    }

    private static void HelpReply(CommandContext x) => Help.Reply(x.Reply, "FUNCTION",
        "LOAD [REPLACE] <FUNCTION CODE>",
        "    Create a new library with the given library name and code.",
        "DELETE <LIBRARY NAME>",
        "    Delete the given library.",
        "LIST [LIBRARYNAME PATTERN] [WITHCODE]",
        "    Return general information on all the libraries:",
        "    * Library name",
        "    * The engine used to run the Library",
        "    * Library description",
        "    * Functions list",
        "    * Library code (if WITHCODE is given)",
        "    It also possible to get only function that matches a pattern using LIBRARYNAME argument.",
        "STATS",
        "    Return information about the current function running:",
        "    * Function name",
        "    * Command used to run the function",
        "    * Duration in MS that the function is running",
        "    If no function is running, return nil",
        "    In addition, returns a list of available engines.",
        "KILL",
        "    Kill the current running function.",
        "FLUSH [ASYNC|SYNC]",
        "    Delete all the libraries.",
        "    When called without the optional mode argument, the behavior is determined by the",
        "    lazyfree-lazy-user-flush configuration directive. Valid modes are:",
        "    * ASYNC: Asynchronously flush the libraries.",
        "    * SYNC: Synchronously flush the libraries.",
        "DUMP",
        "    Return a serialized payload representing the current libraries, can be restored using FUNCTION RESTORE command",
        "RESTORE <PAYLOAD> [FLUSH|APPEND|REPLACE]",
        "    Restore the libraries represented by the given payload, it is possible to give a restore policy to",
        "    control how to handle existing libraries (default APPEND):",
        "    * FLUSH: delete all existing libraries.",
        "    * APPEND: appends the restored libraries to the existing libraries. On collision, abort.",
        "    * REPLACE: appends the restored libraries to the existing libraries, On collision, replace the old",
        "      libraries with the new libraries (notice that even on this option there is a chance of failure",
        "      in case of functions name collision with another library).");
}
