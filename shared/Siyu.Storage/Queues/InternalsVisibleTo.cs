// The storage tests check internals of the queue adapter (AzureQueueService.OwnsTransport).
[assembly: System.Runtime.CompilerServices.InternalsVisibleTo("Siyu.Storage.Tests")]
