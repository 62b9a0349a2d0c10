namespace KeyspacePubSub.Lua;

/// <summary>A light userdata: here only the NULL pointer cjson.null and cmsgpack use for JSON's null.</summary>
public sealed class LuaUserdata
{
    public static readonly LuaUserdata Null = new();

    private LuaUserdata() { }

    /// <summary>tostring of a NULL light userdata, as glibc prints %p of NULL.</summary>
    public override string ToString() => "userdata: (nil)";
}
