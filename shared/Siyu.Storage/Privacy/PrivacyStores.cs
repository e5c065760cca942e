namespace Siyu.Storage.Privacy;

/// <summary>The stores ingestion consults to respect erasures and sensitive data, as one dependency.</summary>
public sealed record PrivacyStores(SuppressionStore Suppressions, ErasureStore Erasures, DefinitionStore Definitions);
