using Azure.Core;
using Siyu.Storage.Account;

namespace Siyu.Storage.Tests.Account;

/// <summary>How the storage request meter names requests, on Azurite's path-style addresses and on Azure's.</summary>
public sealed class StorageRequestMeterTests
{
    [Theory]
    [InlineData("GET", "/devstoreaccount1/profiles(PartitionKey='t~00',RowKey='p1')", "", "profiles", "read")]
    [InlineData("GET", "/profiles(PartitionKey='t~00',RowKey='p1')", "", "profiles", "read")]
    [InlineData("GET", "/devstoreaccount1/timers()", "?$filter=PartitionKey%20eq%20'x'", "timers", "query")]
    [InlineData("PUT", "/devstoreaccount1/journeyruns(PartitionKey='a',RowKey='b')", "", "journeyruns", "write")]
    [InlineData("MERGE", "/journeyruns(PartitionKey='a',RowKey='b')", "", "journeyruns", "write")]
    [InlineData("DELETE", "/devstoreaccount1/timers(PartitionKey='a',RowKey='b')", "", "timers", "delete")]
    [InlineData("POST", "/devstoreaccount1/$batch", "", "tables", "batch")]
    [InlineData("POST", "/devstoreaccount1/campaigns", "", "campaigns", "insert")]
    [InlineData("POST", "/devstoreaccount1/deliver-0/messages", "?messagettl=-1", "deliver-0", "put")]
    [InlineData("GET", "/deliver-0/messages", "?numofmessages=32&visibilitytimeout=60", "deliver-0", "get")]
    [InlineData("GET", "/devstoreaccount1/deliver-0/messages", "?peekonly=true", "deliver-0", "peek")]
    [InlineData("DELETE", "/devstoreaccount1/deliver-0/messages/6c2c1fd4", "?popreceipt=abc", "deliver-0", "delete")]
    [InlineData("PUT", "/deliver-0/messages/6c2c1fd4", "?popreceipt=abc&visibilitytimeout=30", "deliver-0", "update")]
    public void Classifies_a_request_by_target_and_kind(string method, string path, string query, string target, string kind)
    {
        var (t, k) = StorageRequestMeter.Classify(RequestMethod.Parse(method), path, query);
        Assert.Equal((target, kind), (t, k));
    }
}
