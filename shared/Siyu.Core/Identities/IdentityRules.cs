using System.Text;

namespace Siyu.Core.Identities;

/// <summary>Parsing, normalisation and precedence of identities.</summary>
public static class IdentityRules
{
    public const int MaxValueLength = 128;

    /// <summary>
    /// When one event's identities point at different profiles, the profile of the identity that comes first here
    /// wins: a member id is the strongest claim a brand has, an anonymous device id the weakest.
    /// </summary>
    public static int Precedence(IdentityType type) => (int)type;

    public static string Name(IdentityType type) => type switch
    {
        IdentityType.UserId => "userId",
        IdentityType.UnionId => "unionid",
        IdentityType.Phone => "phone",
        IdentityType.OpenId => "openid",
        IdentityType.AnonymousId => "anonymousId",
        _ => throw new ArgumentOutOfRangeException(nameof(type)),
    };

    public static bool TryParseType(string name, out IdentityType type)
    {
        switch (name.Trim().ToLowerInvariant())
        {
            case "userid": case "memberid": type = IdentityType.UserId; return true;
            case "unionid": type = IdentityType.UnionId; return true;
            case "phone": type = IdentityType.Phone; return true;
            case "openid": type = IdentityType.OpenId; return true;
            case "anonymousid": type = IdentityType.AnonymousId; return true;
            default: type = default; return false;
        }
    }

    /// <summary>
    /// Builds a normalised identity, or says why the value is not acceptable.
    /// Phones are normalised so that "138 0013 8000", "+86 13800138000" and "008613800138000" are one person.
    /// </summary>
    public static bool TryCreate(IdentityType type, string? value, string? appId, out Identity identity, out string? error)
    {
        identity = default;
        error = null;
        value = value?.Trim();
        if (string.IsNullOrEmpty(value)) { error = $"{Name(type)} is empty"; return false; }
        if (value.Length > MaxValueLength) { error = $"{Name(type)} is longer than {MaxValueLength} characters"; return false; }
        if (value.Any(char.IsControl)) { error = $"{Name(type)} contains control characters"; return false; }

        if (type == IdentityType.Phone)
        {
            if (!TryNormalisePhone(value, out var phone)) { error = $"phone '{value}' is not a valid mobile number"; return false; }
            value = phone;
        }

        if (type == IdentityType.OpenId)
        {
            appId = appId?.Trim();
            if (string.IsNullOrEmpty(appId)) { error = "openid needs the appId it belongs to"; return false; }
            if (appId.Length > 64 || appId.Any(c => !char.IsAsciiLetterOrDigit(c) && c != '_' && c != '-'))
            { error = $"appId '{appId}' is not a valid app id"; return false; }
        }
        else appId = null;

        identity = new Identity(type, value, appId);
        return true;
    }

    /// <summary>Normalises a phone to E.164. Eleven-digit numbers starting with 1 are taken as mainland China (+86).</summary>
    public static bool TryNormalisePhone(string raw, out string e164)
    {
        e164 = "";
        var digits = new StringBuilder(raw.Length);
        var plus = false;
        foreach (var c in raw)
        {
            if (char.IsAsciiDigit(c)) digits.Append(c);
            else if (c == '+' && digits.Length == 0 && !plus) plus = true;
            else if (c is ' ' or '-' or '(' or ')' or '.') continue;
            else return false;
        }
        var d = digits.ToString();
        if (!plus && d.StartsWith("00", StringComparison.Ordinal)) { d = d[2..]; plus = true; }
        if (!plus && d.Length == 11 && d[0] == '1') d = "86" + d;
        else if (!plus) return false;
        if (d.Length < 8 || d.Length > 15 || d[0] == '0') return false;
        if (d.StartsWith("86", StringComparison.Ordinal) && !(d.Length == 13 && d[2] == '1')) return false;
        e164 = "+" + d;
        return true;
    }

    /// <summary>
    /// An identity as a client writes it (<c>phone:138 0013 8000</c>, <c>openid:wx123:oAbc</c>), normalised to the key the
    /// identity index holds; null when it is not one.
    /// </summary>
    public static string? NormaliseKey(string? text) =>
        text is not null && TryParseKey(text, out var parsed) && TryCreate(parsed.Type, parsed.Value, parsed.AppId, out var identity, out _)
            ? identity.Key
            : null;

    /// <summary>Reads back an <see cref="Identity.Key"/>, e.g. <c>phone:+8613800138000</c> or <c>openid:wx123:oAbc</c>.</summary>
    public static bool TryParseKey(string key, out Identity identity)
    {
        identity = default;
        var colon = key.IndexOf(':');
        if (colon <= 0 || !TryParseType(key[..colon], out var type)) return false;
        var rest = key[(colon + 1)..];
        if (type != IdentityType.OpenId) { identity = new Identity(type, rest); return true; }
        var second = rest.IndexOf(':');
        if (second <= 0) return false;
        identity = new Identity(type, rest[(second + 1)..], rest[..second]);
        return true;
    }

    /// <summary>The identity that names the person most strongly: it decides the queue partition of an event.</summary>
    public static Identity Primary(IReadOnlyList<Identity> identities)
    {
        var best = identities[0];
        foreach (var i in identities)
            if (Precedence(i.Type) < Precedence(best.Type)) best = i;
        return best;
    }
}
