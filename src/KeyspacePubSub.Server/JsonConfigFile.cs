using System.Globalization;
using System.Text;
using Microsoft.Extensions.Configuration;

namespace KeyspacePubSub.Server;

/// <summary>
/// The JSON configuration file as configuration keys, flattened as Microsoft.Extensions.Configuration.Json does
/// (<c>{"Server":{"port":"6380"}}</c> → <c>Server:port</c>, arrays by index: <c>Persistence:KeyPatterns:0</c>).
/// A reader of its own instead of the JSON provider: loading System.Text.Json and compiling its reader at start
/// cost 1.7 MB of the idle process's RSS for a file of a dozen lines. Strict JSON (RFC 8259) plus comments and
/// trailing commas, as the JSON provider accepts; an error names its line and column.
/// </summary>
public sealed class JsonConfigFile : IConfigurationSource
{
    public JsonConfigFile(string path) => Path = path;

    public string Path { get; }

    public IConfigurationProvider Build(IConfigurationBuilder builder) => new Provider(Path);

    /// <summary>Parses JSON text into flattened keys (case-insensitive, as configuration keys are).</summary>
    public static Dictionary<string, string?> Parse(string text)
    {
        var data = new Dictionary<string, string?>(StringComparer.OrdinalIgnoreCase);
        var reader = new Reader(text, data);
        reader.SkipSpace();
        if (reader.Peek() != '{') throw reader.Error("the file must hold a JSON object");
        reader.ReadValue(prefix: null);
        reader.SkipSpace();
        if (!reader.AtEnd) throw reader.Error("unexpected text after the JSON object");
        return data;
    }

    private sealed class Provider(string path) : ConfigurationProvider
    {
        public override void Load()
        {
            try
            {
                Data = Parse(File.ReadAllText(path));
            }
            catch (FormatException ex)
            {
                throw new InvalidDataException($"Could not parse the JSON file '{path}': {ex.Message}", ex);
            }
        }
    }

    private sealed class Reader(string text, Dictionary<string, string?> data)
    {
        private const int MaxDepth = 64;
        private int _pos;
        private int _depth;

        public bool AtEnd => _pos >= text.Length;

        public char Peek() => _pos < text.Length ? text[_pos] : '\0';

        public void ReadValue(string? prefix)
        {
            SkipSpace();
            char c = Peek();
            switch (c)
            {
                case '{':
                    ReadContainer(prefix, '}', isObject: true);
                    break;
                case '[':
                    ReadContainer(prefix, ']', isObject: false);
                    break;
                case '"':
                    Set(prefix, ReadString());
                    break;
                default:
                    Set(prefix, ReadLiteral());
                    break;
            }
        }

        private void ReadContainer(string? prefix, char close, bool isObject)
        {
            if (++_depth > MaxDepth) throw Error($"nesting deeper than {MaxDepth}");
            _pos++;
            int index = 0;
            bool empty = true;
            while (true)
            {
                SkipSpace();
                if (Peek() == close)
                {
                    _pos++;
                    break;
                }
                if (!empty)
                {
                    if (Peek() != ',') throw Error($"expected ',' or '{close}'");
                    _pos++;
                    SkipSpace();
                    if (Peek() == close) // trailing comma
                    {
                        _pos++;
                        break;
                    }
                }
                string name;
                if (isObject)
                {
                    if (Peek() != '"') throw Error("expected a property name in double quotes");
                    name = ReadString();
                    SkipSpace();
                    if (Peek() != ':') throw Error("expected ':'");
                    _pos++;
                }
                else
                {
                    name = index.ToString(CultureInfo.InvariantCulture);
                }
                index++;
                empty = false;
                ReadValue(prefix is null ? name : prefix + ConfigurationPath.KeyDelimiter + name);
            }
            // An empty object or array is a key with an empty value, as the JSON provider records it.
            if (empty && prefix is not null) Set(prefix, "");
            _depth--;
        }

        private void Set(string? key, string? value)
        {
            if (key is null) throw Error("the file must hold a JSON object");
            if (data.ContainsKey(key)) throw Error($"duplicate key '{key}'");
            data[key] = value;
        }

        private string? ReadLiteral()
        {
            int start = _pos;
            while (_pos < text.Length && (char.IsAsciiLetterOrDigit(text[_pos]) || text[_pos] is '-' or '+' or '.')) _pos++;
            string word = text[start.._pos];
            if (word == "null") return null;
            if (word is "true" or "false") return word;
            if (word.Length > 0 && double.TryParse(word, NumberStyles.Float, CultureInfo.InvariantCulture, out _)
                && (word[0] == '-' || char.IsAsciiDigit(word[0])))
            {
                return word;
            }
            _pos = start;
            throw Error(word.Length == 0 ? "expected a value" : $"invalid value '{word}'");
        }

        private string ReadString()
        {
            _pos++; // opening quote
            var sb = new StringBuilder();
            while (true)
            {
                if (_pos >= text.Length) throw Error("unterminated string");
                char c = text[_pos++];
                if (c == '"') return sb.ToString();
                if (c < ' ')
                {
                    _pos--;
                    throw Error("control character in a string");
                }
                if (c != '\\')
                {
                    sb.Append(c);
                    continue;
                }
                if (_pos >= text.Length) throw Error("unterminated string");
                char e = text[_pos++];
                switch (e)
                {
                    case '"': sb.Append('"'); break;
                    case '\\': sb.Append('\\'); break;
                    case '/': sb.Append('/'); break;
                    case 'b': sb.Append('\b'); break;
                    case 'f': sb.Append('\f'); break;
                    case 'n': sb.Append('\n'); break;
                    case 'r': sb.Append('\r'); break;
                    case 't': sb.Append('\t'); break;
                    case 'u':
                        if (_pos + 4 > text.Length
                            || !int.TryParse(text.AsSpan(_pos, 4), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out int code))
                        {
                            throw Error("invalid \\u escape");
                        }
                        sb.Append((char)code);
                        _pos += 4;
                        break;
                    default:
                        _pos--;
                        throw Error($"invalid escape '\\{e}'");
                }
            }
        }

        public void SkipSpace()
        {
            while (_pos < text.Length)
            {
                char c = text[_pos];
                if (c is ' ' or '\t' or '\r' or '\n' or '\uFEFF')
                {
                    _pos++;
                }
                else if (c == '/' && _pos + 1 < text.Length && text[_pos + 1] == '/')
                {
                    while (_pos < text.Length && text[_pos] != '\n') _pos++;
                }
                else if (c == '/' && _pos + 1 < text.Length && text[_pos + 1] == '*')
                {
                    int end = text.IndexOf("*/", _pos + 2, StringComparison.Ordinal);
                    if (end < 0) throw Error("unterminated comment");
                    _pos = end + 2;
                }
                else
                {
                    break;
                }
            }
        }

        public FormatException Error(string message)
        {
            int line = 1, column = 1;
            for (int i = 0; i < _pos && i < text.Length; i++)
            {
                if (text[i] == '\n')
                {
                    line++;
                    column = 1;
                }
                else
                {
                    column++;
                }
            }
            return new FormatException($"{message} at line {line}, column {column}");
        }
    }
}
