using KeyspacePubSub.Lua;

namespace KeyspacePubSub.Engine.Scripting;

/// <summary>A function a library registered (functionInfo): its name, description, flags and Lua callback.</summary>
internal sealed class FunctionInfo(string name, string? description, ScriptFlags flags, LuaFunction callback, FunctionLibrary library)
{
    public string Name { get; } = name;
    public string? Description { get; } = description;
    public ScriptFlags Flags { get; } = flags;
    public LuaFunction Callback { get; } = callback;
    public FunctionLibrary Library { get; } = library;
}

/// <summary>A library FUNCTION LOAD made (functionLibInfo): its name, its whole code (shebang included) and its functions.</summary>
internal sealed class FunctionLibrary(string name, byte[] code)
{
    public const string EngineName = "LUA";

    public string Name { get; } = name;
    public byte[] Code { get; } = code;

    /// <summary>Its functions in the order they were registered; names compared exactly, as li->functions.</summary>
    public List<FunctionInfo> Functions { get; } = [];

    public FunctionInfo? Find(string name) => Functions.Find(f => f.Name == name);
}

/// <summary>
/// The loaded libraries and their functions (functionsLibCtx): libraries by exact name, functions by name without
/// regard to case (as FCALL finds them), each function in exactly one library.
/// </summary>
internal sealed class FunctionLibraries
{
    private readonly Dictionary<string, FunctionLibrary> _libraries = new(StringComparer.Ordinal);
    private readonly Dictionary<string, FunctionInfo> _functions = new(StringComparer.OrdinalIgnoreCase);

    public IEnumerable<FunctionLibrary> Libraries => _libraries.Values;

    public int LibraryCount => _libraries.Count;

    public int FunctionCount => _functions.Count;

    /// <summary>used_memory_functions with no library: the dictionaries and the engine's own (200 bytes in Redis).</summary>
    public const long EmptyBytes = 200;

    /// <summary>The libraries' code and names and the functions' names and descriptions, as used_memory_functions counts them.</summary>
    public long Bytes { get; private set; }

    public FunctionLibrary? Library(string name) => _libraries.GetValueOrDefault(name);

    public FunctionInfo? Function(string name) => _functions.GetValueOrDefault(name);

    public bool HasFunction(string name) => _functions.ContainsKey(name);

    /// <summary>
    /// libraryLink: the library and its functions become callable. Two of its functions whose names differ only in
    /// case are both the library's (its own names are exact), but only the first is callable, as dictAdd leaves it.
    /// </summary>
    public void Link(FunctionLibrary library)
    {
        foreach (var f in library.Functions)
        {
            _functions.TryAdd(f.Name, f);
            Bytes += FunctionBytes(f);
        }
        _libraries.Add(library.Name, library);
        Bytes += LibraryBytes(library);
        RegisteredCount += library.Functions.Count;
    }

    /// <summary>libraryUnlink: the library and its functions are no longer callable.</summary>
    public void Unlink(FunctionLibrary library)
    {
        foreach (var f in library.Functions)
        {
            if (_functions.TryGetValue(f.Name, out var linked) && linked == f) _functions.Remove(f.Name);
            Bytes -= FunctionBytes(f);
        }
        _libraries.Remove(library.Name);
        Bytes -= LibraryBytes(library);
        RegisteredCount -= library.Functions.Count;
    }

    /// <summary>FUNCTION STATS's functions_count: every library's functions, callable or not (see <see cref="Link"/>).</summary>
    public int RegisteredCount { get; private set; }

    public void Clear()
    {
        _libraries.Clear();
        _functions.Clear();
        Bytes = 0;
        RegisteredCount = 0;
    }

    /// <summary>
    /// libraryJoin (FUNCTION RESTORE APPEND or REPLACE): every library of <paramref name="source"/> joins this set,
    /// replacing one of the same name only with <paramref name="replace"/>; a function name already taken by another
    /// library refuses the whole join, and the replaced libraries come back. Null, or the error.
    /// </summary>
    public string? Join(FunctionLibraries source, bool replace)
    {
        var replaced = new List<FunctionLibrary>();
        string? error = null;
        foreach (var library in source.Libraries)
        {
            if (Library(library.Name) is not { } old) continue;
            if (!replace)
            {
                error = $"Library {library.Name} already exists";
                break;
            }
            Unlink(old);
            replaced.Add(old);
        }
        if (error is null)
        {
            foreach (var f in source._functions.Values)
            {
                if (!HasFunction(f.Name)) continue;
                error = $"Function {f.Name} already exists";
                break;
            }
        }
        if (error is not null)
        {
            foreach (var old in replaced) Link(old);
            return error;
        }
        foreach (var library in source.Libraries.ToList()) Link(library);
        source.Clear();
        return null;
    }

    private static long FunctionBytes(FunctionInfo f) => 64 + f.Name.Length + (f.Description?.Length ?? 0);

    private static long LibraryBytes(FunctionLibrary l) => 64 + l.Name.Length + l.Code.Length;
}
