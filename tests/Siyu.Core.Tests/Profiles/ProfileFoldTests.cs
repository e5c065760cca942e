using System.Text.Json.Nodes;
using Siyu.Core.Events;
using Siyu.Core.Identities;
using Siyu.Core.Profiles;

namespace Siyu.Core.Tests.Profiles;

public class ProfileFoldTests
{
    private static readonly DateTimeOffset T0 = DateTimeOffset.Parse("2024-05-01T08:00:00Z");
    private static readonly Identity User = new(IdentityType.UserId, "u1");

    private static DateTimeOffset At(int minutes) => T0.AddMinutes(minutes);

    private static IncomingEvent Track(string id, DateTimeOffset at, string name = "page_view", JsonObject? properties = null, params Identity[] identities) => new()
    {
        MessageId = id,
        Type = EventType.Track,
        Name = name,
        Identities = identities.Length == 0 ? [User] : identities,
        Properties = properties,
        Timestamp = at,
        ReceivedAt = T0,
        Source = "api",
    };

    private static IncomingEvent Identify(string id, DateTimeOffset at, JsonObject traits) => new()
    {
        MessageId = id,
        Type = EventType.Identify,
        Name = "identify",
        Identities = [User],
        Traits = traits,
        Timestamp = at,
        ReceivedAt = T0,
        Source = "api",
    };

    private static IncomingEvent Order(string id, DateTimeOffset at, string orderId, decimal total, string? currency = null)
    {
        var props = new JsonObject { ["orderId"] = orderId, ["total"] = total };
        if (currency is not null) props["currency"] = currency;
        return new IncomingEvent
        {
            MessageId = id,
            Type = EventType.Order,
            Name = "order",
            Identities = [User],
            Properties = props,
            Timestamp = at,
            ReceivedAt = T0,
            Source = "api",
        };
    }

    private static ProfileState Fold(params IncomingEvent[] events)
    {
        var p = ProfileState.New("p0000000000000000000", T0);
        foreach (var e in events) ProfileFold.Apply(p, e);
        return p;
    }

    // ---- basics ----

    [Fact]
    public void A_new_profile_is_empty()
    {
        var p = ProfileState.New("pabc", T0);
        Assert.Equal("pabc", p.ProfileId);
        Assert.Equal(T0, p.CreatedAt);
        Assert.Null(p.FirstSeen);
        Assert.Null(p.LastSeen);
        Assert.Equal(0, p.EventCount);
        Assert.Empty(p.Identities);
        Assert.Empty(p.Attributes);
        Assert.Empty(p.Counters);
        Assert.Empty(p.Recent);
        Assert.Equal(0, p.Orders.Count);
        Assert.Empty(p.Orders.Total);
        Assert.Null(p.Orders.First);
    }

    [Fact]
    public void One_event_sets_counters_seen_times_and_identities()
    {
        var p = Fold(Track("m1", At(5), "view", null, User, new Identity(IdentityType.OpenId, "oAbc", "wx1")));
        Assert.Equal(At(5), p.FirstSeen);
        Assert.Equal(At(5), p.LastSeen);
        Assert.Equal(1, p.EventCount);
        var c = p.Counters["view"];
        Assert.Equal(1, c.Count);
        Assert.Equal(At(5), c.First);
        Assert.Equal(At(5), c.Last);
        Assert.Equal(new[] { "openid:wx1:oAbc", "userId:u1" }, p.Identities);
    }

    [Fact]
    public void Identities_accumulate_sorted_and_once()
    {
        var p = Fold(
            Track("m1", At(1), "v", null, new Identity(IdentityType.Phone, "+8613800138000")),
            Track("m2", At(2), "v", null, new Identity(IdentityType.AnonymousId, "d1"), new Identity(IdentityType.Phone, "+8613800138000")),
            Track("m3", At(3), "v", null, new Identity(IdentityType.UserId, "Z"), new Identity(IdentityType.UserId, "a")));
        Assert.Equal(new[] { "anonymousId:d1", "phone:+8613800138000", "userId:Z", "userId:a" }, p.Identities);
    }

    [Fact]
    public void Counters_track_first_and_last_per_event_name()
    {
        var p = Fold(
            Track("m1", At(10), "view"),
            Track("m2", At(2), "view"),
            Track("m3", At(30), "view"),
            Track("m4", At(5), "cart"));
        Assert.Equal(4, p.EventCount);
        Assert.Equal(At(2), p.FirstSeen);
        Assert.Equal(At(30), p.LastSeen);
        Assert.Equal(3, p.Counters["view"].Count);
        Assert.Equal(At(2), p.Counters["view"].First);
        Assert.Equal(At(30), p.Counters["view"].Last);
        Assert.Equal(1, p.Counters["cart"].Count);
        Assert.Equal(At(5), p.Counters["cart"].First);
    }

    [Fact]
    public void Counter_names_are_case_sensitive()
    {
        var p = Fold(Track("m1", At(1), "View"), Track("m2", At(2), "view"));
        Assert.Equal(2, p.Counters.Count);
    }

    // ---- attributes ----

    [Fact]
    public void A_newer_identify_overwrites_an_attribute()
    {
        var p = Fold(
            Identify("m1", At(1), new JsonObject { ["city"] = "Shanghai", ["tier"] = "gold" }),
            Identify("m2", At(2), new JsonObject { ["city"] = "Beijing" }));
        Assert.Equal("Beijing", p.Attributes["city"]!.GetValue<string>());
        Assert.Equal("gold", p.Attributes["tier"]!.GetValue<string>());
        Assert.Equal(At(2), p.AttributeVersions["city"].At);
        Assert.Equal(At(1), p.AttributeVersions["tier"].At);
    }

    [Fact]
    public void An_older_identify_arriving_late_never_overwrites_a_newer_one()
    {
        var p = Fold(
            Identify("m2", At(2), new JsonObject { ["city"] = "Beijing" }),
            Identify("m1", At(1), new JsonObject { ["city"] = "Shanghai", ["tier"] = "gold" }));
        Assert.Equal("Beijing", p.Attributes["city"]!.GetValue<string>());
        Assert.Equal("gold", p.Attributes["tier"]!.GetValue<string>()); // untouched attributes of the old event still apply
        Assert.Equal(At(2), p.AttributeVersions["city"].At);
    }

    [Fact]
    public void A_null_trait_removes_the_attribute()
    {
        var p = Fold(
            Identify("m1", At(1), new JsonObject { ["city"] = "Shanghai" }),
            Identify("m2", At(2), new JsonObject { ["city"] = null }));
        Assert.False(p.Attributes.ContainsKey("city"));
        Assert.Equal(At(2), p.AttributeVersions["city"].At);
    }

    [Fact]
    public void An_older_value_arriving_after_a_newer_removal_does_not_come_back()
    {
        var p = Fold(
            Identify("m2", At(2), new JsonObject { ["city"] = null }),
            Identify("m1", At(1), new JsonObject { ["city"] = "Shanghai" }));
        Assert.False(p.Attributes.ContainsKey("city"));
    }

    [Fact]
    public void An_older_removal_arriving_late_does_not_remove_a_newer_value()
    {
        var p = Fold(
            Identify("m2", At(2), new JsonObject { ["city"] = "Beijing" }),
            Identify("m1", At(1), new JsonObject { ["city"] = null }));
        Assert.Equal("Beijing", p.Attributes["city"]!.GetValue<string>());
    }

    [Fact]
    public void Attribute_values_keep_their_json_shape_and_are_copied()
    {
        var traits = new JsonObject { ["tags"] = new JsonArray("a", "b"), ["age"] = 30, ["vip"] = true };
        var p = Fold(Identify("m1", At(1), traits));
        traits["tags"]!.AsArray().Add("c");
        Assert.Equal("""["a","b"]""", p.Attributes["tags"]!.ToJsonString());
        Assert.Equal(30, p.Attributes["age"]!.GetValue<int>());
        Assert.True(p.Attributes["vip"]!.GetValue<bool>());
    }

    [Fact]
    public void Traits_on_other_event_types_are_ignored()
    {
        var e = Track("m1", At(1)) with { Traits = new JsonObject { ["city"] = "Shanghai" } };
        Assert.Empty(Fold(e).Attributes);
    }

    [Fact]
    public void Identifies_with_equal_timestamps_settle_on_one_value_whatever_the_order()
    {
        var a = Identify("m-a", At(1), new JsonObject { ["city"] = "Shanghai" });
        var b = Identify("m-b", At(1), new JsonObject { ["city"] = "Beijing" });
        var ab = Fold(a, b).Attributes["city"]!.GetValue<string>();
        var ba = Fold(b, a).Attributes["city"]!.GetValue<string>();
        Assert.Equal(ab, ba);
    }

    // ---- orders ----

    [Fact]
    public void Order_totals_are_kept_per_currency()
    {
        var p = Fold(
            Order("m1", At(3), "A1", 100.50m),
            Order("m2", At(1), "A2", 20m, "CNY"),
            Order("m3", At(2), "A3", 9.99m, "USD"),
            Track("m4", At(10), "view"));
        Assert.Equal(3, p.Orders.Count);
        Assert.Equal(120.50m, p.Orders.Total["CNY"]);
        Assert.Equal(9.99m, p.Orders.Total["USD"]);
        Assert.Equal(2, p.Orders.Total.Count);
        Assert.Equal(At(1), p.Orders.First);
        Assert.Equal(At(3), p.Orders.Last); // the later track event does not move it
        Assert.Equal(3, p.Counters["order"].Count);
    }

    [Fact]
    public void A_zero_total_order_still_counts()
    {
        var p = Fold(Order("m1", At(1), "A1", 0m));
        Assert.Equal(1, p.Orders.Count);
        Assert.Equal(0m, p.Orders.Total["CNY"]);
    }

    [Fact]
    public void Order_properties_read_from_json_count_too()
    {
        var e = Order("m1", At(1), "A1", 0m) with { Properties = JsonNode.Parse("""{"orderId":"A9","total":12.30,"currency":"HKD"}""")!.AsObject() };
        Assert.Equal(12.30m, Fold(e).Orders.Total["HKD"]);
    }

    [Fact]
    public void An_order_event_without_readable_facts_is_counted_as_an_event_only()
    {
        var e = Order("m1", At(1), "A1", 1m) with { Properties = new JsonObject { ["orderId"] = "A1" } };
        var p = Fold(e);
        Assert.Equal(1, p.EventCount);
        Assert.Equal(1, p.Counters["order"].Count);
        Assert.Equal(0, p.Orders.Count);
        Assert.Empty(p.Orders.Total);
        Assert.Null(p.Orders.First);
    }

    [Fact]
    public void Track_events_with_order_like_properties_are_not_orders()
    {
        var p = Fold(Track("m1", At(1), "checkout", new JsonObject { ["orderId"] = "A1", ["total"] = 5m }));
        Assert.Equal(0, p.Orders.Count);
    }

    [Fact]
    public void Huge_order_totals_do_not_crash_the_fold()
    {
        // Totals beyond OrderFacts.MaxTotal are not orders (validation refuses them); the fold counts the valid ones only.
        var p = Fold(Order("m1", At(1), "A1", decimal.MaxValue));
        var thrown = Record.Exception(() => ProfileFold.Apply(p, Order("m2", At(2), "A2", decimal.MaxValue)));
        Assert.Null(thrown);
        ProfileFold.Apply(p, Order("m3", At(3), "A3", OrderFacts.MaxTotal));
        ProfileFold.Apply(p, Order("m4", At(4), "A4", OrderFacts.MaxTotal));
        Assert.Equal(2, p.Orders.Count);
        Assert.Equal(2 * OrderFacts.MaxTotal, p.Orders.Total["CNY"]);
    }

    // ---- recent events ----

    [Fact]
    public void Recent_events_are_newest_first_with_their_details()
    {
        var p = Fold(
            Track("m1", At(1), "a", new JsonObject { ["x"] = 1 }),
            Track("m3", At(3), "c"),
            Track("m2", At(2), "b"));
        Assert.Equal(new[] { "m3", "m2", "m1" }, p.Recent.Select(r => r.MessageId));
        var oldest = p.Recent[2];
        Assert.Equal("a", oldest.Name);
        Assert.Equal(At(1), oldest.Timestamp);
        Assert.Equal("api", oldest.Source);
        Assert.Equal("""{"x":1}""", oldest.Properties!.ToJsonString());
        Assert.Null(p.Recent[0].Properties);
    }

    [Fact]
    public void An_event_with_the_same_time_goes_after_those_already_there()
    {
        var p = Fold(Track("m1", At(1)), Track("m2", At(1)), Track("m0", At(0)));
        Assert.Equal(new[] { "m1", "m2", "m0" }, p.Recent.Select(r => r.MessageId));
    }

    [Fact]
    public void At_most_twenty_recent_events_are_kept()
    {
        Assert.Equal(20, ProfileState.RecentLimit);
        var p = Fold(Enumerable.Range(1, 25).Select(i => Track($"m{i}", At(i))).ToArray());
        Assert.Equal(20, p.Recent.Count);
        Assert.Equal("m25", p.Recent[0].MessageId);
        Assert.Equal("m6", p.Recent[^1].MessageId);
        Assert.Equal(25, p.EventCount);
    }

    [Fact]
    public void A_late_event_older_than_all_twenty_is_dropped_from_recent_but_counted()
    {
        var p = Fold(Enumerable.Range(1, 20).Select(i => Track($"m{i}", At(i))).ToArray());
        ProfileFold.Apply(p, Track("old", At(0), "late"));
        Assert.Equal(20, p.Recent.Count);
        Assert.DoesNotContain(p.Recent, r => r.MessageId == "old");
        Assert.Equal(21, p.EventCount);
        Assert.Equal(At(0), p.FirstSeen);
        Assert.Equal(1, p.Counters["late"].Count);
    }

    [Fact]
    public void A_late_event_equal_to_the_oldest_of_twenty_is_dropped()
    {
        var p = Fold(Enumerable.Range(1, 20).Select(i => Track($"m{i}", At(i))).ToArray());
        ProfileFold.Apply(p, Track("tie", At(1)));
        Assert.DoesNotContain(p.Recent, r => r.MessageId == "tie");
        Assert.Equal("m1", p.Recent[^1].MessageId);
    }

    [Fact]
    public void A_late_event_inside_the_window_is_placed_by_time_and_pushes_out_the_oldest()
    {
        var p = Fold(Enumerable.Range(1, 20).Select(i => Track($"m{i * 2}", At(i * 2))).ToArray());
        ProfileFold.Apply(p, Track("late", At(15)));
        Assert.Equal(20, p.Recent.Count);
        var ids = p.Recent.Select(r => r.MessageId).ToList();
        Assert.Equal(ids.IndexOf("m16") + 1, ids.IndexOf("late"));
        Assert.Equal(ids.IndexOf("m14") - 1, ids.IndexOf("late"));
        Assert.DoesNotContain("m2", ids);
        Assert.Equal("m4", ids[^1]);
    }

    [Fact]
    public void A_late_event_goes_to_the_end_while_there_is_room()
    {
        var p = Fold(Track("m5", At(5)), Track("m1", At(1)));
        Assert.Equal(new[] { "m5", "m1" }, p.Recent.Select(r => r.MessageId));
    }

    [Fact]
    public void Recent_properties_up_to_1024_characters_are_kept_and_bigger_ones_truncated()
    {
        Assert.Equal(1024, ProfileFold.RecentPropertiesMaxChars);
        var fits = new JsonObject { ["p"] = new string('x', 1024 - 8) };
        var tooBig = new JsonObject { ["p"] = new string('x', 1025 - 8) };
        Assert.Equal(1024, fits.ToJsonString().Length);
        Assert.Equal(1025, tooBig.ToJsonString().Length);

        var p = Fold(Track("m1", At(1), "a", fits), Track("m2", At(2), "b", tooBig));
        Assert.Equal(fits.ToJsonString(), p.Recent[1].Properties!.ToJsonString());
        Assert.Equal("""{"truncated":true}""", p.Recent[0].Properties!.ToJsonString());
    }

    [Fact]
    public void Recent_properties_are_copies()
    {
        var props = new JsonObject { ["x"] = 1 };
        var p = Fold(Track("m1", At(1), "a", props));
        props["x"] = 2;
        Assert.Equal(1, p.Recent[0].Properties!["x"]!.GetValue<int>());
    }

    // ---- order insensitivity (property-based) ----

    private static readonly string[] Names = ["page_view", "add_to_cart", "subscribe", "scan", "click_menu"];
    private static readonly string[] TraitNames = ["city", "tier", "gender", "birthday", "tags"];
    private static readonly string[] Currencies = ["CNY", "USD", "HKD"];

    /// <summary>A random mix of events with distinct timestamps (so "latest" is always well defined).</summary>
    private static List<IncomingEvent> RandomEvents(Random random, int count)
    {
        var minutes = Enumerable.Range(0, 10_000).OrderBy(_ => random.Next()).Take(count).ToArray();
        var events = new List<IncomingEvent>();
        for (var i = 0; i < count; i++)
        {
            var at = T0.AddMinutes(minutes[i]).AddMilliseconds(random.Next(1000));
            var id = $"m{i}";
            switch (random.Next(4))
            {
                case 0:
                    var traits = new JsonObject();
                    foreach (var name in TraitNames.Where(_ => random.Next(2) == 0))
                        traits[name] = random.Next(5) == 0 ? null : JsonValue.Create($"{name}-{random.Next(3)}");
                    if (traits.Count == 0) traits["city"] = "Hangzhou";
                    events.Add(Identify(id, at, traits));
                    break;
                case 1:
                    var total = Math.Round((decimal)random.NextDouble() * 1000, 2);
                    events.Add(random.Next(6) == 0
                        ? Order(id, at, $"A{i}", total) with { Properties = new JsonObject { ["orderId"] = $"A{i}", ["total"] = "bad" } }
                        : Order(id, at, $"A{i}", total, Currencies[random.Next(Currencies.Length)]));
                    break;
                default:
                    var extra = random.Next(3) == 0 ? new Identity(IdentityType.AnonymousId, $"d{random.Next(4)}") : User;
                    events.Add(Track(id, at, Names[random.Next(Names.Length)], new JsonObject { ["i"] = i }, User, extra));
                    break;
            }
        }
        return events;
    }

    private static string Snapshot(ProfileState p)
    {
        var lines = new List<string>
        {
            $"first={p.FirstSeen:o} last={p.LastSeen:o} events={p.EventCount}",
            "identities=" + string.Join(",", p.Identities),
        };
        lines.AddRange(p.Counters.OrderBy(c => c.Key, StringComparer.Ordinal)
            .Select(c => $"counter {c.Key}={c.Value.Count} {c.Value.First:o} {c.Value.Last:o}"));
        lines.AddRange(p.Attributes.OrderBy(a => a.Key, StringComparer.Ordinal)
            .Select(a => $"attr {a.Key}={a.Value?.ToJsonString()}"));
        lines.AddRange(p.AttributeVersions.OrderBy(a => a.Key, StringComparer.Ordinal)
            .Select(a => $"attrAt {a.Key}={a.Value.At:o}/{a.Value.MessageId}"));
        lines.Add($"orders={p.Orders.Count} {p.Orders.First:o} {p.Orders.Last:o}");
        lines.AddRange(p.Orders.Total.OrderBy(t => t.Key, StringComparer.Ordinal).Select(t => $"total {t.Key}={t.Value}"));
        lines.Add("recent=" + string.Join(",", p.Recent.Select(r => $"{r.MessageId}@{r.Timestamp:o}")));
        return string.Join("\n", lines);
    }

    [Theory]
    [InlineData(1, 5)]
    [InlineData(2, 19)]
    [InlineData(3, 20)]
    [InlineData(4, 21)]
    [InlineData(5, 60)]
    [InlineData(6, 150)]
    [InlineData(20240501, 80)]
    public void Folding_is_insensitive_to_arrival_order(int seed, int count)
    {
        var random = new Random(seed);
        var events = RandomEvents(random, count);
        var expected = Snapshot(Fold(events.ToArray()));

        // in time order and reverse time order, and in many random orders
        Assert.Equal(expected, Snapshot(Fold(events.OrderBy(e => e.Timestamp).ToArray())));
        Assert.Equal(expected, Snapshot(Fold(events.OrderByDescending(e => e.Timestamp).ToArray())));
        for (var round = 0; round < 25; round++)
        {
            var shuffled = events.ToArray();
            random.Shuffle(shuffled);
            Assert.Equal(expected, Snapshot(Fold(shuffled)));
        }
    }

    [Theory]
    [InlineData(11)]
    [InlineData(12)]
    [InlineData(13)]
    public void The_fold_agrees_with_a_direct_computation(int seed)
    {
        var random = new Random(seed);
        var events = RandomEvents(random, 70);
        var shuffled = events.ToArray();
        random.Shuffle(shuffled);
        var p = Fold(shuffled);

        Assert.Equal(events.Count, p.EventCount);
        Assert.Equal(events.Min(e => e.Timestamp), p.FirstSeen);
        Assert.Equal(events.Max(e => e.Timestamp), p.LastSeen);
        foreach (var g in events.GroupBy(e => e.Name))
        {
            Assert.Equal(g.Count(), p.Counters[g.Key].Count);
            Assert.Equal(g.Min(e => e.Timestamp), p.Counters[g.Key].First);
            Assert.Equal(g.Max(e => e.Timestamp), p.Counters[g.Key].Last);
        }

        var orders = events.Where(e => e.Type == EventType.Order && OrderFacts.TryRead(e.Properties, out _, out _)).ToList();
        Assert.Equal(orders.Count, p.Orders.Count);
        foreach (var g in orders.GroupBy(e => { OrderFacts.TryRead(e.Properties, out var f, out _); return f.Currency; }))
            Assert.Equal(g.Sum(e => { OrderFacts.TryRead(e.Properties, out var f, out _); return f.Total; }), p.Orders.Total[g.Key]);

        // each attribute holds the value of the latest identify that mentions it (absent if that set it to null)
        foreach (var name in TraitNames)
        {
            var latest = events.Where(e => e.Type == EventType.Identify && e.Traits!.ContainsKey(name)).MaxBy(e => e.Timestamp);
            if (latest is null) { Assert.False(p.Attributes.ContainsKey(name)); continue; }
            var value = latest.Traits![name];
            if (value is null) Assert.False(p.Attributes.ContainsKey(name));
            else Assert.Equal(value.ToJsonString(), p.Attributes[name]!.ToJsonString());
        }

        // recent: the 20 newest, newest first
        Assert.Equal(
            events.OrderByDescending(e => e.Timestamp).Take(ProfileState.RecentLimit).Select(e => e.MessageId),
            p.Recent.Select(r => r.MessageId));
    }
}
