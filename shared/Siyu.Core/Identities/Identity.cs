namespace Siyu.Core.Identities;

/// <summary>The kinds of identifier a customer can be known by. Order matters: see <see cref="IdentityRules.Precedence"/>.</summary>
public enum IdentityType
{
    /// <summary>A brand's own member or user id (memberId is accepted as an alias).</summary>
    UserId,
    /// <summary>WeChat unionid: the same person across every app of one WeChat open-platform account.</summary>
    UnionId,
    /// <summary>A mobile number, normalised to E.164 (+86… for mainland numbers).</summary>
    Phone,
    /// <summary>WeChat openid: per app, so it always travels with its appId.</summary>
    OpenId,
    /// <summary>A device or browser id given before the person is known.</summary>
    AnonymousId,
}

/// <summary>One identifier of a customer. <see cref="AppId"/> is set for openids only.</summary>
public readonly record struct Identity(IdentityType Type, string Value, string? AppId = null)
{
    /// <summary>The canonical text of this identity, unique within a tenant, e.g. <c>openid:wx123:oAbc</c>.</summary>
    public string Key => Type == IdentityType.OpenId
        ? $"openid:{AppId}:{Value}"
        : $"{IdentityRules.Name(Type)}:{Value}";

    public override string ToString() => Key;
}
