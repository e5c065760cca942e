// The Shared Key string-to-sign is unit-tested directly (no network) by the storage tests.
[assembly: System.Runtime.CompilerServices.InternalsVisibleTo("Siyu.Storage.Tests")]
