namespace KeyspacePubSub.Protocol;

/// <summary>
/// Every error text a client can see, byte for byte as Redis 7.0 writes it (without the leading '-').
/// </summary>
public static class Errors
{
    public const string Syntax = "ERR syntax error";
    public const string NotInteger = "ERR value is not an integer or out of range";
    public const string NoSuchKey = "ERR no such key";
    public const string NotFloat = "ERR value is not a valid float";
    public const string WrongType = "WRONGTYPE Operation against a key holding the wrong kind of value";
    public const string NoAuth = "NOAUTH Authentication required.";
    public const string OutOfMemory = "OOM command not allowed when used memory > 'maxmemory'.";
    public const string WrongPass = "WRONGPASS invalid username-password pair or user is disabled.";
    public const string AuthNotConfigured = "ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?";
    public const string HelloNoAuth = "NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO AUTH <user> <pass> option can be used to authenticate the client and select the RESP protocol version at the same time";
    public const string NoProto = "NOPROTO unsupported protocol version";
    public const string ProtoNotInteger = "ERR Protocol version is not an integer or out of range";
    public const string DbIndexOutOfRange = "ERR DB index is out of range";
    public const string InvalidFirstDb = "ERR invalid first DB index";
    public const string InvalidSecondDb = "ERR invalid second DB index";
    public const string ClientNameInvalid = "ERR Client names cannot contain spaces, newlines or special characters.";
    public const string NoSuchClient = "ERR No such client";
    public const string Timeout = "ERR timeout is not an integer or out of range";
    public const string TimeoutNegative = "ERR timeout is negative";

    public const string ProtoTooBigInline = "ERR Protocol error: too big inline request";
    public const string ProtoUnbalancedQuotes = "ERR Protocol error: unbalanced quotes in request";
    public const string ProtoTooBigMbulk = "ERR Protocol error: too big mbulk count string";
    public const string ProtoInvalidMbulk = "ERR Protocol error: invalid multibulk length";
    public const string ProtoTooBigBulk = "ERR Protocol error: too big bulk count string";
    public const string ProtoInvalidBulk = "ERR Protocol error: invalid bulk length";
    public const string ProtoUnauthMbulk = "ERR Protocol error: unauthenticated multibulk length";
    public const string ProtoUnauthBulk = "ERR Protocol error: unauthenticated bulk length";

    public static string ProtoExpectedDollar(byte got) => $"ERR Protocol error: expected '$', got '{(char)got}'";

    public static string WrongArity(string fullName) => $"ERR wrong number of arguments for '{fullName}' command";

    public static string UnknownSubcommand(string sub, string container) =>
        $"ERR unknown subcommand '{Truncate(sub, 128)}'. Try {container.ToUpperInvariant()} HELP.";

    public static string SubscribedContext(string fullName) =>
        $"ERR Can't execute '{fullName}': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context";

    /// <summary>As addReplyErrorExpireTime: "ERR invalid expire time in 'set' command".</summary>
    public static string InvalidExpireTime(string fullName) => $"ERR invalid expire time in '{fullName}' command";

    public static string HelloOption(string opt) => $"ERR Syntax error in HELLO option '{opt}'";

    /// <summary>As Redis's addReplyErrorFormat: CR and LF become spaces so the reply stays one line.</summary>
    public static string Sanitize(string text) =>
        text.AsSpan().IndexOfAny('\r', '\n') < 0 ? text : text.Replace('\r', ' ').Replace('\n', ' ');

    /// <summary>An argument as printf's %s shows it in Redis's error texts: up to its first NUL byte.</summary>
    public static string CText(ReadOnlySpan<byte> arg) => System.Text.Encoding.Latin1.GetString(CString.Of(arg));

    public static string Truncate(string s, int max) => s.Length <= max ? s : s[..max];
}
