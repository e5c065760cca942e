using System.Net;
using System.Text;
using System.Text.Json;
using Siyu.Channels.Sending;

namespace Siyu.Channels.WeChat;

/// <summary>
/// A WeChat API answer: <c>{"errcode","errmsg","msgid"}</c> for sends, <c>{"access_token","expires_in"}</c> for
/// stable_token. WeChat answers HTTP 200 even for errors; any other status comes from its gateway.
/// </summary>
internal readonly record struct WeChatReply(int ErrCode, string? ErrMsg, string? MsgId, string? AccessToken, int ExpiresIn)
{
    /// <summary>The attempt for an answer that is not a success, or null for a success (errcode 0 or absent);
    /// <paramref name="reply"/> holds what the answer said.</summary>
    public static Attempt? Interpret(ProviderAnswer answer, string api, out WeChatReply reply)
    {
        reply = default;
        if (answer.Status != HttpStatusCode.OK)
        {
            var status = $"{api}: HTTP {answer.Code}";
            return answer.Code >= 500
                ? Attempt.Again($"http_{answer.Code}", status, maybeDelivered: true)
                : Attempt.Final(SendResult.Rejected($"http_{answer.Code}", status));
        }
        try
        {
            reply = Parse(answer.Body);
        }
        catch (JsonException)
        {
            return Attempt.Again("bad_response", $"{api}: the answer is not JSON", maybeDelivered: true);
        }
        if (reply.ErrCode == 0) return null;
        var detail = $"{api}: {reply.ErrMsg}";
        return WeChatErrors.IsBusy(reply.ErrCode)
            ? Attempt.Again(WeChatErrors.Code(reply.ErrCode), detail, maybeDelivered: false)
            : Attempt.Final(WeChatErrors.ToResult(reply.ErrCode, detail, answer.ReceivedAt));
    }

    /// <summary>Reads the fields we use; throws <see cref="JsonException"/> when the body is not a JSON object.</summary>
    public static WeChatReply Parse(ReadOnlySpan<byte> json)
    {
        var reader = new Utf8JsonReader(json);
        if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject) throw new JsonException("Not a JSON object.");
        int errCode = 0, expiresIn = 0;
        string? errMsg = null, msgId = null, accessToken = null;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            var name = reader.ValueSpan;
            reader.Read();
            if (name.SequenceEqual("errcode"u8) && reader.TokenType == JsonTokenType.Number) errCode = reader.TryGetInt32(out var c) ? c : int.MinValue;
            else if (name.SequenceEqual("errmsg"u8) && reader.TokenType == JsonTokenType.String) errMsg = reader.GetString();
            else if (name.SequenceEqual("msgid"u8)) msgId = reader.TokenType switch
            {
                JsonTokenType.Number => Encoding.UTF8.GetString(reader.ValueSpan), // the literal as sent, however large
                JsonTokenType.String => reader.GetString(),
                _ => null,
            };
            else if (name.SequenceEqual("access_token"u8) && reader.TokenType == JsonTokenType.String) accessToken = reader.GetString();
            else if (name.SequenceEqual("expires_in"u8) && reader.TokenType == JsonTokenType.Number) expiresIn = reader.TryGetInt32(out var e) ? e : 0;
            else reader.Skip();
        }
        return new WeChatReply(errCode, errMsg, msgId, accessToken, expiresIn);
    }
}
