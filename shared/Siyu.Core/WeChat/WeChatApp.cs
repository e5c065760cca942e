namespace Siyu.Core.WeChat;

public enum WeChatAppKind
{
    OfficialAccount,
    MiniProgram,
}

/// <summary>The message encryption mode chosen in the WeChat console (明文 / 兼容 / 安全模式).</summary>
public enum WeChatMessageMode
{
    /// <summary>Pushes arrive in the clear, signed with <c>signature</c>.</summary>
    Plaintext,
    /// <summary>Pushes may arrive either way; <c>encrypt_type=aes</c> says which.</summary>
    Compatible,
    /// <summary>Pushes must be encrypted and carry <c>msg_signature</c>.</summary>
    Safe,
}

/// <summary>
/// One WeChat official account or mini-program as far as receiving pushes is concerned.
/// <see cref="PreviousEncodingAesKey"/> keeps pushes opening while an EncodingAESKey rotation propagates.
/// </summary>
public sealed record WeChatApp(
    string AppId,
    WeChatAppKind Kind,
    string Token,
    string EncodingAesKey,
    string? PreviousEncodingAesKey,
    WeChatMessageMode Mode)
{
    /// <summary>Configuration problems, empty when the app can receive pushes in its mode. For config loaders.</summary>
    /// <summary>Every problem with the app, each with the request field it is about.</summary>
    public IReadOnlyList<(string Field, string Message)> Validate()
    {
        var problems = new List<(string, string)>();
        if (string.IsNullOrWhiteSpace(AppId)) problems.Add(("appId", "is empty"));
        if (string.IsNullOrEmpty(Token)) problems.Add(("token", "is empty"));
        if (Mode != WeChatMessageMode.Plaintext && !WeChatCipher.IsValidKey(EncodingAesKey))
            problems.Add(("encodingAesKey", $"must be {WeChatCipher.EncodingAesKeyLength} Base64 characters in {Mode} mode"));
        if (PreviousEncodingAesKey is not null && !WeChatCipher.IsValidKey(PreviousEncodingAesKey))
            problems.Add(("previousEncodingAesKey", $"must be {WeChatCipher.EncodingAesKeyLength} Base64 characters when set"));
        return problems;
    }

    // Keep the secrets out of logs.
    public override string ToString() => $"WeChatApp {{ AppId = {AppId}, Kind = {Kind}, Mode = {Mode} }}";
}
