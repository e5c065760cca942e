using Siyu.Core.Profiles;

namespace Siyu.Core.Tests.Traits;

/// <summary>Profiles placed at fixed distances before one fixed "now".</summary>
internal static class TraitKit
{
    public static readonly DateTimeOffset Now = DateTimeOffset.Parse("2024-06-01T12:00:00+08:00", System.Globalization.CultureInfo.InvariantCulture);

    public static DateTimeOffset Ago(int days, int seconds = 0) => Now.AddDays(-days).AddSeconds(-seconds);

    /// <summary>Someone seen between <paramref name="firstSeen"/> and <paramref name="lastSeen"/>; created a year before now unless said.</summary>
    public static ProfileState Seen(DateTimeOffset? firstSeen, DateTimeOffset? lastSeen, DateTimeOffset? createdAt = null) => new()
    {
        ProfileId = "p1",
        CreatedAt = createdAt ?? Ago(365),
        FirstSeen = firstSeen,
        LastSeen = lastSeen,
    };

    /// <summary>Someone with <paramref name="count"/> orders, the last at <paramref name="lastOrder"/>, worth <paramref name="cny"/> CNY.</summary>
    public static ProfileState Buyer(long count, DateTimeOffset lastOrder, decimal cny)
    {
        var profile = Seen(Ago(400), lastOrder);
        profile.Orders = new OrderTotals { Count = count, First = Ago(400), Last = lastOrder };
        profile.Orders.Total["CNY"] = cny;
        return profile;
    }
}
