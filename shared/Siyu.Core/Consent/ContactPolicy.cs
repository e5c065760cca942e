namespace Siyu.Core.Consent;

/// <summary>Why a message may not go out now. The names are stable: they are recorded and counted.</summary>
public enum ContactVerdict
{
    Allowed,
    /// <summary>No decision was ever recorded for the purpose on this channel.</summary>
    NoConsent,
    /// <summary>The person was asked and said no.</summary>
    Denied,
    /// <summary>The person agreed once and withdrew.</summary>
    Withdrawn,
    /// <summary>A personalised message to someone who turned personalised marketing off (PIPL art. 24).</summary>
    PersonalisationOptedOut,
    /// <summary>A mini-program subscribe message without an unused one-time subscription for its template.</summary>
    NoEntitlement,
    /// <summary>The message's topic is not one the person chose.</summary>
    TopicNotChosen,
    /// <summary>The person's own daily or weekly maximum for the channel is reached.</summary>
    CapReached,
    /// <summary>It is quiet hours where the person is: try again at <see cref="ContactDecision.NotBefore"/>.</summary>
    QuietHours,
    /// <summary>The brand stopped all sending (停发): held until it resumes.</summary>
    Halted,
}

/// <summary>The answer to "may we contact this person now?". <see cref="NotBefore"/> says when to retry, if ever.</summary>
public sealed record ContactDecision(ContactVerdict Verdict, string Reason, DateTimeOffset? NotBefore = null)
{
    public bool Allowed => Verdict == ContactVerdict.Allowed;

    /// <summary>A refusal that is about timing, not about permission: defer it, do not drop it.</summary>
    public bool Deferrable => Verdict is ContactVerdict.QuietHours or ContactVerdict.CapReached;

    public static readonly ContactDecision Allow = new(ContactVerdict.Allowed, "allowed");
}

/// <summary>What is to be sent: its purpose, channel, template (for subscribe messages) and topic, and whether it is personalised.</summary>
public sealed record ContactRequest(string Purpose, string Channel, string? Template = null, bool Personalised = false, string? Topic = null);

/// <summary>How many messages this person has had on the channel today, this week and this month (in their time zone). The delivery layer counts.</summary>
public sealed record ContactHistory(int SentToday, int SentThisWeek, int SentThisMonth = 0)
{
    public static readonly ContactHistory None = new(0, 0);
}

/// <summary>
/// The one decision every sender must ask before a message leaves: a pure function of the person's consent,
/// preferences, message history and the time. Checks run in the order of the delivery policy: consent for the
/// purpose and channel, personalisation opt-out, subscribe-message entitlement, topics, the person's caps, quiet hours.
/// </summary>
public static class ContactPolicy
{
    /// <param name="entitlementHeld">This very message already holds a used subscription (a retry after the use was recorded).</param>
    public static ContactDecision CanContact(ConsentState consent, Preferences? preferences, ContactRequest request, DateTimeOffset now, ContactHistory? history = null,
        bool entitlementHeld = false)
    {
        ArgumentNullException.ThrowIfNull(consent);
        ArgumentNullException.ThrowIfNull(request);
        if (!ConsentVocabulary.IsPurpose(request.Purpose)) throw new ArgumentException($"unknown purpose '{request.Purpose}'", nameof(request));
        if (!ConsentVocabulary.IsChannel(request.Channel) || request.Channel == ConsentVocabulary.AllChannels)
            throw new ArgumentException($"a message goes out on one channel, not '{request.Channel}'", nameof(request));

        var governing = consent.Governing(request.Purpose, request.Channel, request.Template);
        switch (governing?.Status)
        {
            case null:
                return new(ContactVerdict.NoConsent, $"no {request.Purpose} consent for {request.Channel}");
            case ConsentStatus.Denied:
                return new(ContactVerdict.Denied, $"{request.Purpose} on {request.Channel} was refused at {governing.OccurredAt:O} ({governing.Source})");
            case ConsentStatus.Withdrawn:
                return new(ContactVerdict.Withdrawn, $"{request.Purpose} on {request.Channel} was withdrawn at {governing.OccurredAt:O} ({governing.Source})");
        }

        if (request.Personalised)
        {
            var personalisation = consent.Governing(ConsentVocabulary.Personalisation, request.Channel);
            if (personalisation?.Status is ConsentStatus.Denied or ConsentStatus.Withdrawn)
                return new(ContactVerdict.PersonalisationOptedOut, $"personalised messages were turned off at {personalisation.OccurredAt:O}");
        }

        if (request.Channel == ConsentVocabulary.MiniProgramSubscribe)
        {
            if (request.Template is null) return new(ContactVerdict.NoEntitlement, "a subscribe message needs its template id");
            if (!entitlementHeld && consent.Entitlements.GetValueOrDefault(request.Template) <= 0)
                return new(ContactVerdict.NoEntitlement, $"no unused subscription for template {request.Template}");
        }

        var prefs = preferences ?? new Preferences();
        if (request.Topic is { } topic && prefs.Topics.Count > 0 && !prefs.Topics.Contains(topic))
            return new(ContactVerdict.TopicNotChosen, $"topic '{topic}' is not one the person chose");

        var zone = TimeZones.TryFind(prefs.TimeZone, out var z) ? z : TimeZones.TryFind(Preferences.DefaultTimeZone, out var d) ? d : TimeZoneInfo.Utc;
        var local = TimeZoneInfo.ConvertTime(now, zone);

        if (prefs.Caps.TryGetValue(request.Channel, out var cap) && cap is not null)
        {
            var sent = history ?? ContactHistory.None;
            if (cap.PerDay is { } perDay && sent.SentToday >= perDay)
                return new(ContactVerdict.CapReached, $"{sent.SentToday} of {perDay} messages today on {request.Channel}",
                    LocalTime(local.Date.AddDays(1), zone, now));
            if (cap.PerWeek is { } perWeek && sent.SentThisWeek >= perWeek)
            {
                // Weeks start on Monday, as they do in China.
                var daysToMonday = ((int)DayOfWeek.Monday - (int)local.DayOfWeek + 7) % 7;
                return new(ContactVerdict.CapReached, $"{sent.SentThisWeek} of {perWeek} messages this week on {request.Channel}",
                    LocalTime(local.Date.AddDays(daysToMonday == 0 ? 7 : daysToMonday), zone, now));
            }
            if (cap.PerMonth is { } perMonth && sent.SentThisMonth >= perMonth)
                return new(ContactVerdict.CapReached, $"{sent.SentThisMonth} of {perMonth} messages this month on {request.Channel}",
                    LocalTime(new DateTime(local.Year, local.Month, 1).AddMonths(1), zone, now));
        }

        if (prefs.QuietHours is { } quiet && Preferences.TryParseTime(quiet.Start, out var start) && Preferences.TryParseTime(quiet.End, out var end)
            && start != end)
        {
            var time = TimeOnly.FromDateTime(local.DateTime);
            var inside = start < end ? time >= start && time < end : time >= start || time < end;
            if (inside)
            {
                var endDate = start < end || time < end ? local.Date : local.Date.AddDays(1);
                return new(ContactVerdict.QuietHours, $"quiet hours {quiet.Start}-{quiet.End} ({prefs.TimeZone})",
                    LocalTime(endDate + end.ToTimeSpan(), zone, now));
            }
        }
        return ContactDecision.Allow;
    }

    /// <summary>
    /// The first instant after <paramref name="now"/> that shows this wall-clock time. A time skipped by a DST jump
    /// moves to just after the jump; a time shown twice (the hour repeated when clocks go back) is the first showing
    /// that is still ahead.
    /// </summary>
    private static DateTimeOffset LocalTime(DateTime local, TimeZoneInfo zone, DateTimeOffset now)
    {
        local = DateTime.SpecifyKind(local, DateTimeKind.Unspecified);
        while (zone.IsInvalidTime(local)) local = local.AddMinutes(1);
        if (!zone.IsAmbiguousTime(local)) return new DateTimeOffset(local, zone.GetUtcOffset(local));
        var showings = zone.GetAmbiguousTimeOffsets(local).Select(o => new DateTimeOffset(local, o)).OrderBy(t => t).ToList();
        return showings.FirstOrDefault(t => t > now, showings[^1]);
    }
}
