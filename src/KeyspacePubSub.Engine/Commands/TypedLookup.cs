using KeyspacePubSub.Protocol;

namespace KeyspacePubSub.Engine.Commands;

/// <summary>The lookup every typed command starts with: the value as <typeparamref name="T"/>, or null, or WRONGTYPE.</summary>
internal static class TypedLookup
{
    /// <summary>False (with WRONGTYPE written) when the key holds another type; otherwise the value or null.</summary>
    public static bool TryGet<T>(CommandContext x, ReadOnlySpan<byte> key, bool write, out T? value) where T : class
    {
        var db = x.Engine.Databases[x.Client.Db];
        var found = write ? x.Engine.LookupWrite(db, key) : x.Engine.LookupRead(db, key);
        value = found as T;
        if (found is null || value is not null) return true;
        x.Reply.Error(Errors.WrongType);
        return false;
    }

    /// <summary>
    /// The string at the command's key (its first argument), read in place: an exact array or a string APPEND,
    /// SETRANGE or SETBIT grew (see <see cref="Keyspace.GrowableString"/>); empty, with <paramref name="found"/>
    /// false, when the key is missing. False, with WRONGTYPE written, for another type.
    /// </summary>
    public static bool TryGetString(CommandContext x, out bool found, out ReadOnlySpan<byte> bytes)
    {
        var value = x.Engine.LookupRead(x.Engine.Databases[x.Client.Db], x.Args[1], growable: true);
        found = value != null;
        if (Keyspace.GrowableString.TryBytes(value, out bytes) || !found) return true;
        x.Reply.Error(Errors.WrongType);
        return false;
    }
}
