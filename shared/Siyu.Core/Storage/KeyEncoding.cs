using System.Text;

namespace Siyu.Core.Storage;

/// <summary>
/// Makes arbitrary text safe inside a Table Storage PartitionKey or RowKey. Keys may not contain '/', '\', '#',
/// '?' or control characters, and we use '~' as our own separator, so those (and '%') are percent-encoded.
/// The encoding is reversible and keeps ordinary ids readable.
/// </summary>
public static class KeyEncoding
{
    public const char Separator = '~';

    public static string Escape(string value)
    {
        if (!NeedsEscape(value)) return value;
        var sb = new StringBuilder(value.Length + 8);
        foreach (var c in value)
        {
            if (IsUnsafe(c)) sb.Append('%').Append(((int)c).ToString("X4"));
            else sb.Append(c);
        }
        return sb.ToString();
    }

    public static string Unescape(string value)
    {
        if (!value.Contains('%')) return value;
        var sb = new StringBuilder(value.Length);
        for (var i = 0; i < value.Length; i++)
        {
            if (value[i] == '%' && i + 4 < value.Length)
            {
                sb.Append((char)Convert.ToInt32(value.Substring(i + 1, 4), 16));
                i += 4;
            }
            else sb.Append(value[i]);
        }
        return sb.ToString();
    }

    private static bool NeedsEscape(string value)
    {
        foreach (var c in value) if (IsUnsafe(c)) return true;
        return false;
    }

    private static bool IsUnsafe(char c) =>
        c is '/' or '\\' or '#' or '?' or '%' or Separator || char.IsControl(c);
}
