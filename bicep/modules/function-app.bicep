// The Linux function app on a Flex Consumption (FC1) plan.
//
// Why Flex Consumption:
// - It runs .NET isolated-worker apps on Linux (functionAppConfig.runtime name 'dotnet-isolated',
//   version '10.0'), which is what Siyu.Functions is.
// - It needs no Azure Files content share: the package lives in a blob container that the host
//   reads with the managed identity. Elastic Premium and Windows Consumption need a content share
//   reached by account key, which would force shared keys back on for the host account.
// - It scales to zero and bills per execution, like Consumption, while Linux Consumption (Y1) is
//   closed to new features and scheduled for retirement.
// Consequence: FUNCTIONS_WORKER_RUNTIME is not an app setting on Flex (the platform rejects it);
// 'dotnet-isolated' is set in functionAppConfig.runtime instead, which is the same setting moved.

param name string
param planName string
param location string
param tags object

@description('Resource id of the user-assigned identity the app runs as.')
param identityId string

@description('Client id of that identity: which identity the SDKs and the host pick.')
param identityClientId string

param appInsightsName string

@description('Account for the Functions host itself (AzureWebJobsStorage) and the deployment package.')
param hostStorageAccountName string

@description('Private blob container in the host account that holds the deployment package.')
param deploymentContainerName string

@description('Table endpoint of the app data account, e.g. https://<account>.table.<suffix>/.')
param dataTableEndpoint string

@description('Queue endpoint of the app data account.')
param dataQueueEndpoint string

@description('Blob endpoint of the app data account (the Durable task hub\'s leases).')
param dataBlobEndpoint string

@description('Prefix of the app\'s tables and queues; the queue triggers listen on <prefix>-<queue>.')
param storagePrefix string = 'siyu'

@description('Durable Functions task hub name (letters and digits).')
param durableHubName string = 'siyu'

@description('Versionless Key Vault URI of the operator bootstrap key secret.')
param bootstrapKeySecretUri string

@description('Versionless Key Vault URI of the secrets encryption key.')
param encryptionKeySecretUri string

@description('Upper bound on scale-out instances.')
@minValue(40)
@maxValue(1000)
param maximumInstanceCount int

@description('Memory per instance, in MB.')
@allowed([
  512
  2048
  4096
])
param instanceMemoryMB int

resource appInsights 'Microsoft.Insights/components@2020-02-02' existing = {
  name: appInsightsName
}

resource hostStorage 'Microsoft.Storage/storageAccounts@2025-01-01' existing = {
  name: hostStorageAccountName
}

resource plan 'Microsoft.Web/serverfarms@2024-11-01' = {
  name: planName
  location: location
  tags: tags
  kind: 'functionapp'
  sku: {
    name: 'FC1'
    tier: 'FlexConsumption'
  }
  properties: {
    reserved: true // Linux
  }
}

// Managed-identity settings shared by every identity-based connection below.
var identityCredential = 'managedidentity'

resource site 'Microsoft.Web/sites@2024-11-01' = {
  name: name
  location: location
  tags: tags
  kind: 'functionapp,linux'
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: {
      '${identityId}': {}
    }
  }
  properties: {
    serverFarmId: plan.id
    httpsOnly: true
    // Key Vault references resolve with the user-assigned identity (the default would be a
    // system-assigned one, which this app does not have).
    keyVaultReferenceIdentity: identityId
    functionAppConfig: {
      deployment: {
        storage: {
          type: 'blobContainer'
          value: '${hostStorage.properties.primaryEndpoints.blob}${deploymentContainerName}'
          authentication: {
            type: 'UserAssignedIdentity'
            userAssignedIdentityResourceId: identityId
          }
        }
      }
      runtime: {
        // The isolated worker: the host starts Siyu.Functions (worker.config.json) and calls its functions (functions.metadata).
        name: 'dotnet-isolated'
        version: '10.0'
      }
      scaleAndConcurrency: {
        maximumInstanceCount: maximumInstanceCount
        instanceMemoryMB: instanceMemoryMB
      }
    }
    siteConfig: {
      minTlsVersion: '1.2'
      appSettings: [
        // Flex pins the host to ~4 itself; stated so the intended major version is explicit.
        { name: 'FUNCTIONS_EXTENSION_VERSION', value: '~4' }
        { name: 'APPLICATIONINSIGHTS_CONNECTION_STRING', value: appInsights.properties.ConnectionString }

        // The host's own storage (keys, leases, timers), identity-based: no connection string.
        { name: 'AzureWebJobsStorage__accountName', value: hostStorage.name }
        { name: 'AzureWebJobsStorage__credential', value: identityCredential }
        { name: 'AzureWebJobsStorage__clientId', value: identityClientId }

        // Connection "SiyuStorage" used by the queue triggers ([QueueTrigger(Connection = "SiyuStorage")]) and the Durable task hub (host.json).
        { name: 'SiyuStorage__queueServiceUri', value: dataQueueEndpoint }
        { name: 'SiyuStorage__credential', value: identityCredential }
        { name: 'SiyuStorage__clientId', value: identityClientId }
        // The Durable task hub also keeps blobs (leases) and tables (history) in the data account.
        { name: 'SiyuStorage__blobServiceUri', value: dataBlobEndpoint }
        { name: 'SiyuStorage__tableServiceUri', value: dataTableEndpoint }

        // Names the queue triggers resolve (%Storage:Prefix%-ingest-0 …) and the app prefixes its tables and queues with;
        // the task hub's name (host.json %Durable:HubName%).
        { name: 'Storage__Prefix', value: storagePrefix }
        { name: 'Durable__HubName', value: durableHubName }

        // Read by Siyu.Functions as Storage:TableServiceUri, Storage:QueueServiceUri, Storage:ManagedIdentityClientId.
        { name: 'Storage__TableServiceUri', value: dataTableEndpoint }
        { name: 'Storage__QueueServiceUri', value: dataQueueEndpoint }
        { name: 'Storage__ManagedIdentityClientId', value: identityClientId }

        // Resolved by the platform from Key Vault; the app sees only the plain value.
        { name: 'Operator__BootstrapKey', value: '@Microsoft.KeyVault(SecretUri=${bootstrapKeySecretUri})' }
        { name: 'Secrets__EncryptionKey', value: '@Microsoft.KeyVault(SecretUri=${encryptionKeySecretUri})' }
      ]
    }
  }
}

output name string = site.name
output defaultHostName string = site.properties.defaultHostName
