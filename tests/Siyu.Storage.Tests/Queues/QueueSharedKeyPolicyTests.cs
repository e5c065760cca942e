using System.Text;
using Azure.Core;
using Azure.Core.Pipeline;
using Siyu.Storage.Queues;

namespace Siyu.Storage.Tests.Queues;

/// <summary>The Shared Key string-to-sign and signature for known requests; no network.</summary>
public sealed class QueueSharedKeyPolicyTests
{
    private const string Account = "devstoreaccount1";
    // Azurite's published development key (not a secret).
    private const string Key = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";
    private const string Date = "Tue, 05 Nov 2024 10:00:00 GMT";

    private static Request NewRequest(RequestMethod method, string uri)
    {
        var request = HttpClientTransport.Shared.CreateRequest();
        request.Method = method;
        request.Uri.Reset(new Uri(uri));
        return request;
    }

    [Fact]
    public void Update_message_on_a_path_style_url_signs_the_account_twice_with_sorted_headers_and_decoded_query()
    {
        var request = NewRequest(RequestMethod.Put,
            "http://127.0.0.1:10001/devstoreaccount1/orders/messages/6c2c1fd4-5b1a-4bb1-9f55-1e3f3f0f0a11?visibilitytimeout=30&popreceipt=AgAAAAMAAAAAAAAA%2Bz%2F%3D");
        request.Headers.SetValue("x-ms-version", "2024-11-04");
        request.Headers.SetValue("x-ms-date", Date);
        request.Headers.SetValue("X-MS-Client-Request-Id", "req-1");
        request.Headers.SetValue("x-ms-meta-note", "  spaced    out  ");
        request.Headers.SetValue("Content-Type", "application/xml; charset=utf-8");
        request.Headers.SetValue("User-Agent", "not signed");
        request.Content = RequestContent.Create(Encoding.UTF8.GetBytes("<QueueMessage><MessageText>hi</MessageText></QueueMessage>"));

        var expected =
            "PUT\n" +
            "\n" +                                 // Content-Encoding
            "\n" +                                 // Content-Language
            "58\n" +                               // Content-Length
            "\n" +                                 // Content-MD5
            "application/xml; charset=utf-8\n" +   // Content-Type
            "\n\n\n\n\n\n" +                       // Date, If-Modified-Since, If-Match, If-None-Match, If-Unmodified-Since, Range
            "x-ms-client-request-id:req-1\n" +
            "x-ms-date:" + Date + "\n" +
            "x-ms-meta-note:spaced out\n" +
            "x-ms-version:2024-11-04\n" +
            "/devstoreaccount1/devstoreaccount1/orders/messages/6c2c1fd4-5b1a-4bb1-9f55-1e3f3f0f0a11\n" +
            "popreceipt:AgAAAAMAAAAAAAAA+z/=\n" +
            "visibilitytimeout:30";
        Assert.Equal(expected, QueueSharedKeyPolicy.BuildStringToSign(request, Account));
    }

    [Fact]
    public void Get_messages_without_a_body_signs_an_empty_content_length()
    {
        var request = NewRequest(RequestMethod.Get, "http://127.0.0.1:10001/devstoreaccount1/orders/messages?peekonly=true&numofmessages=32");
        request.Headers.SetValue("x-ms-version", "2024-11-04");
        request.Headers.SetValue("x-ms-date", Date);

        var expected =
            "GET\n\n\n\n\n\n\n\n\n\n\n\n" +
            "x-ms-date:" + Date + "\n" +
            "x-ms-version:2024-11-04\n" +
            "/devstoreaccount1/devstoreaccount1/orders/messages\n" +
            "numofmessages:32\n" +
            "peekonly:true";
        Assert.Equal(expected, QueueSharedKeyPolicy.BuildStringToSign(request, Account));

        // The signature, computed independently (openssl dgst -sha256 -mac HMAC over the string above).
        var policy = new QueueSharedKeyPolicy(Account, Key);
        Assert.Equal("SharedKey devstoreaccount1:0YEZ3Xf5AAJzWcQJkVOxrUMCAFUWKwoO8HeXzq00+RY=", policy.AuthorizationHeader(request));
    }

    [Fact]
    public void A_production_host_style_url_signs_the_account_once()
    {
        var request = NewRequest(RequestMethod.Get, "https://myaccount.queue.core.windows.net/orders?comp=metadata");
        request.Headers.SetValue("x-ms-version", "2024-11-04");
        request.Headers.SetValue("x-ms-date", Date);

        Assert.EndsWith("\nx-ms-version:2024-11-04\n/myaccount/orders\ncomp:metadata", QueueSharedKeyPolicy.BuildStringToSign(request, "myaccount"));
    }

    [Fact]
    public void A_key_that_is_not_base64_is_refused()
    {
        Assert.Throws<ArgumentException>(() => new QueueSharedKeyPolicy(Account, "not base64!"));
    }
}
