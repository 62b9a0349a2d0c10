using System.Security.Cryptography;
using System.Text;
using KeyspacePubSub.Protocol;

namespace KeyspacePubSub.Engine.Acl;

/// <summary>
/// A user as Redis 7.0's: enabled or not, its passwords (SHA-256, hex) or nopass, the payload-sanitizing flag,
/// and its selectors, the root one first. Rules are applied as ACLSetUser applies them, one at a time.
/// </summary>
internal sealed class AclUser
{
    public AclUser(byte[] name, bool allChannels)
    {
        Name = name;
        Selectors.Add(new AclSelector(root: true, allChannels));
    }

    public byte[] Name { get; }
    public string NameText => Encoding.Latin1.GetString(Name);
    public bool Enabled { get; private set; }
    public bool NoPass { get; private set; }

    /// <summary>Null: neither sanitize-payload nor skip-sanitize-payload given (Redis 7.0 shows neither).</summary>
    public bool? SanitizePayload { get; private set; }

    public List<string> Passwords { get; } = [];
    public List<AclSelector> Selectors { get; } = [];
    public AclSelector Root => Selectors[0];

    /// <summary>
    /// Whether some selector allows everything (the default user's +@all ~* &amp;*): no check is needed.
    /// Asked before every command, so kept until a rule changes the user.</summary>
    public bool Unrestricted => _unrestricted ??= Selectors.Exists(s => s.AllCommands && s.AllKeys && s.AllChannels);

    private bool? _unrestricted;

    public AclUser Clone(byte[]? name = null)
    {
        var copy = new AclUser(name ?? Name, false);
        copy.CopyFrom(this);
        return copy;
    }

    /// <summary>As ACLCopyUser: everything but the name.</summary>
    public void CopyFrom(AclUser other)
    {
        _unrestricted = null;
        Enabled = other.Enabled;
        NoPass = other.NoPass;
        SanitizePayload = other.SanitizePayload;
        Passwords.Clear();
        Passwords.AddRange(other.Passwords);
        Selectors.Clear();
        Selectors.AddRange(other.Selectors.Select(s => s.Clone()));
    }

    /// <summary>As ACLSetUser: one rule (an empty one does nothing).</summary>
    public AclRuleError Apply(AccessControl acl, byte[] op)
    {
        if (op.Length == 0) return AclRuleError.None;
        _unrestricted = null;
        string text = Encoding.Latin1.GetString(op);
        switch (text.ToLowerInvariant())
        {
            case "on": Enabled = true; return AclRuleError.None;
            case "off": Enabled = false; return AclRuleError.None;
            case "skip-sanitize-payload": SanitizePayload = false; return AclRuleError.None;
            case "sanitize-payload": SanitizePayload = true; return AclRuleError.None;
            case "nopass":
                NoPass = true;
                Passwords.Clear();
                return AclRuleError.None;
            case "resetpass":
                NoPass = false;
                Passwords.Clear();
                return AclRuleError.None;
            case "clearselectors":
                Selectors.RemoveRange(1, Selectors.Count - 1);
                return AclRuleError.None;
            case "reset":
                Apply(acl, "resetpass"u8.ToArray());
                Apply(acl, "resetkeys"u8.ToArray());
                Apply(acl, "resetchannels"u8.ToArray());
                if (acl.PubSubDefaultAllChannels) Apply(acl, "allchannels"u8.ToArray());
                Apply(acl, "off"u8.ToArray());
                Apply(acl, "sanitize-payload"u8.ToArray());
                Apply(acl, "clearselectors"u8.ToArray());
                Root.DenyAll();
                return AclRuleError.None;
        }
        switch (op[0])
        {
            case (byte)'>' or (byte)'#':
            {
                if (PasswordHash(op) is not { } hash) return AclRuleError.BadHash;
                if (!Passwords.Contains(hash)) Passwords.Add(hash);
                NoPass = false;
                return AclRuleError.None;
            }
            case (byte)'<' or (byte)'!':
            {
                if (PasswordHash(op) is not { } hash) return AclRuleError.BadHash;
                return Passwords.Remove(hash) ? AclRuleError.None : AclRuleError.NoSuchPassword;
            }
            case (byte)'(' when op[^1] == ')':
            {
                var selector = new AclSelector(root: false, acl.PubSubDefaultAllChannels);
                // Split as sdssplitargs (quotes, escapes); unbalanced quotes leave the selector empty, as in Redis.
                foreach (var rule in InlineSplitter.SplitArgs(op.AsSpan(1, op.Length - 2)) ?? [])
                {
                    var error = selector.Apply(acl, rule);
                    if (error != AclRuleError.None) return error;
                }
                Selectors.Add(selector);
                return AclRuleError.None;
            }
        }
        return Root.Apply(acl, op);
    }

    /// <summary>Whether a password opens this user (an enabled one); compared in constant time as Redis does.</summary>
    public bool Accepts(ReadOnlySpan<byte> password)
    {
        if (!Enabled) return false;
        if (NoPass) return true;
        var hashed = Encoding.ASCII.GetBytes(Hash(password));
        bool ok = false;
        foreach (var p in Passwords) ok |= CryptographicOperations.FixedTimeEquals(hashed, Encoding.ASCII.GetBytes(p));
        return ok;
    }

    /// <summary>As ACLHashPassword: SHA-256, lowercase hex.</summary>
    public static string Hash(ReadOnlySpan<byte> password) => Convert.ToHexStringLower(SHA256.HashData(password));

    /// <summary>The hash a password rule names: of the clear text after '&gt;' or '&lt;', or the hash after '#' or '!' (null if it is not one).</summary>
    private static string? PasswordHash(byte[] op)
    {
        var rest = op.AsSpan(1);
        if (op[0] is (byte)'>' or (byte)'<') return Hash(rest);
        return IsHash(rest) ? Encoding.ASCII.GetString(rest) : null;
    }

    private static bool IsHash(ReadOnlySpan<byte> hash)
    {
        if (hash.Length != 64) return false;
        foreach (byte c in hash)
        {
            if (!(c is >= (byte)'a' and <= (byte)'f' || c is >= (byte)'0' and <= (byte)'9')) return false;
        }
        return true;
    }
}
