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
}
