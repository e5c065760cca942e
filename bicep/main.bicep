// Siyu backend on Azure: the Siyu.Functions isolated-worker app (.NET 10) on a Linux Flex Consumption plan,
// with Azure Table + Queue Storage, Key Vault and Application Insights. Resource-group scoped.
//
// Deploy (the bootstrap key is never stored in a file):
//   az deployment group create -g <rg> -f bicep/main.bicep \
//     -p @bicep/main.parameters.example.json -p operatorBootstrapKey=<value> -p secretsEncryptionKey=<base64 of 32 bytes>
//
// Layout
// - One user-assigned identity for everything the app does. It exists before the app, so its
//   role assignments are in place by the time the host first starts, and it survives app re-creation.
// - Two storage accounts, both Entra-ID-only by default:
//   * data: the app's tables and queues (what the business cares about; pick its redundancy).
//   * host: AzureWebJobsStorage (host keys, leases, timer state) and the deployment package.
//   Kept apart so host churn never mixes with app data, the data account needs no blob access,
//   and the host account can be thrown away and recreated freely.
// - The identity gets data-plane roles on each account separately, and Secrets User on the vault.

@description('Short lowercase name used in every resource name (letters and digits).')
@minLength(2)
@maxLength(8)
param appName string = 'siyu'

@description('Environment label used in resource names, e.g. dev, test, prod.')
@minLength(1)
@maxLength(6)
param environmentName string = 'dev'

@description('Region for every resource. Must be one where Flex Consumption is offered.')
param location string = resourceGroup().location

param tags object = {}

@description('Replication of the app data account (tables + queues).')
@allowed([
  'Standard_LRS'
  'Standard_ZRS'
  'Standard_GRS'
  'Standard_GZRS'
])
param dataStorageSku string = 'Standard_LRS'

@description('Allow account keys / account SAS on the data account (e.g. for tools that cannot use Entra ID). The app itself never needs them.')
param allowSharedKeyAccess bool = false

@description('Flex Consumption: maximum number of instances the app may scale out to.')
@minValue(40)
@maxValue(1000)
param maximumInstanceCount int = 100

@description('Flex Consumption: memory per instance, in MB.')
@allowed([
  512
  2048
  4096
])
param instanceMemoryMB int = 2048

@description('Log Analytics retention, in days.')
@minValue(30)
@maxValue(730)
param logRetentionInDays int = 30

@secure()
@description('Operator bootstrap key (guards tenant and key administration). Stored only in Key Vault.')
param operatorBootstrapKey string

@secure()
@description('Base64 of 32 random bytes (e.g. `openssl rand -base64 32`): encrypts WeChat app secrets at rest. Stored only in Key Vault.')
param secretsEncryptionKey string

// Built-in role definition ids (Azure built-in roles reference).
var roles = {
  storageBlobDataOwner: 'b7e6dc6d-f1e8-4753-8033-0f276bb0955b'
  storageBlobDataContributor: 'ba92f5b4-2d11-453d-a403-e96b0029c9fe'
  storageQueueDataContributor: '974c5e8b-45b9-4653-ba55-5f855dd0fb88'
  storageTableDataContributor: '0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3'
  keyVaultSecretsUser: '4633458b-17de-408a-b874-0445c86b69e6'
}

// Stable per resource group + app + environment, so redeploys hit the same resources.
var suffix = uniqueString(resourceGroup().id, appName, environmentName)
var baseName = '${appName}-${environmentName}'

var names = {
  identity: 'id-${baseName}'
  workspace: 'log-${baseName}'
  appInsights: 'appi-${baseName}'
  plan: 'plan-${baseName}'
  functionApp: 'func-${baseName}-${take(suffix, 6)}'
  // Storage and Key Vault names are global and at most 24 characters.
  dataStorage: take('st${appName}d${suffix}', 24)
  hostStorage: take('st${appName}h${suffix}', 24)
  keyVault: take('kv-${appName}-${suffix}', 24)
}

var deploymentContainerName = 'app-package'
var bootstrapKeySecretName = 'operator-bootstrap-key'
var encryptionKeySecretName = 'secrets-encryption-key'

resource identity 'Microsoft.ManagedIdentity/userAssignedIdentities@2023-01-31' = {
  name: names.identity
  location: location
  tags: tags
}

module monitoring 'modules/monitoring.bicep' = {
  name: 'monitoring'
  params: {
    workspaceName: names.workspace
    appInsightsName: names.appInsights
    location: location
    tags: tags
    retentionInDays: logRetentionInDays
  }
}

module dataStorage 'modules/storage-account.bicep' = {
  name: 'storage-data'
  params: {
    name: names.dataStorage
    location: location
    tags: tags
    skuName: dataStorageSku
    allowSharedKeyAccess: allowSharedKeyAccess
  }
}

module hostStorage 'modules/storage-account.bicep' = {
  name: 'storage-host'
  params: {
    name: names.hostStorage
    location: location
    tags: tags
    // Host state is disposable; locally redundant is enough.
    skuName: 'Standard_LRS'
    // The host and Flex deployment both authenticate with the identity: keys stay off here.
    allowSharedKeyAccess: false
    blobContainers: [
      deploymentContainerName
    ]
  }
}

// App data: the app creates its tables and queues at startup (create-if-not-exists) and sends,
// receives and deletes messages, and the host's queue trigger moves poison messages; Contributor
// on both covers all of it (the finer Message Processor/Sender roles cannot create queues). The
// Durable task hub keeps its history in tables, its work in queues and its partition leases in
// blobs of the same account: Blob Data Contributor for those.
module dataRoles 'modules/storage-roles.bicep' = {
  name: 'roles-data'
  params: {
    storageAccountName: dataStorage.outputs.name
    principalId: identity.properties.principalId
    roleDefinitionIds: [
      roles.storageTableDataContributor
      roles.storageQueueDataContributor
      roles.storageBlobDataContributor
    ]
  }
}

// Host storage: what identity-based AzureWebJobsStorage needs (blobs for keys and leases, queues
// and tables for host internals); Blob Data Owner also lets Flex read the deployment package.
module hostRoles 'modules/storage-roles.bicep' = {
  name: 'roles-host'
  params: {
    storageAccountName: hostStorage.outputs.name
    principalId: identity.properties.principalId
    roleDefinitionIds: [
      roles.storageBlobDataOwner
      roles.storageQueueDataContributor
      roles.storageTableDataContributor
    ]
  }
}

module keyVault 'modules/key-vault.bicep' = {
  name: 'key-vault'
  params: {
    name: names.keyVault
    location: location
    tags: tags
    readerPrincipalId: identity.properties.principalId
    vaultReaderRoleId: roles.keyVaultSecretsUser
    bootstrapKeySecretName: bootstrapKeySecretName
    bootstrapKey: operatorBootstrapKey
    encryptionKeySecretName: encryptionKeySecretName
    secretsEncryptionKey: secretsEncryptionKey
  }
}

module functionApp 'modules/function-app.bicep' = {
  name: 'function-app'
  params: {
    name: names.functionApp
    planName: names.plan
    location: location
    tags: tags
    identityId: identity.id
    identityClientId: identity.properties.clientId
    appInsightsName: monitoring.outputs.appInsightsName
    hostStorageAccountName: hostStorage.outputs.name
    deploymentContainerName: deploymentContainerName
    dataTableEndpoint: dataStorage.outputs.tableEndpoint
    dataQueueEndpoint: dataStorage.outputs.queueEndpoint
    dataBlobEndpoint: dataStorage.outputs.blobEndpoint
    bootstrapKeySecretUri: keyVault.outputs.bootstrapKeySecretUri
    encryptionKeySecretUri: keyVault.outputs.encryptionKeySecretUri
    maximumInstanceCount: maximumInstanceCount
    instanceMemoryMB: instanceMemoryMB
  }
  // Grant access before the host first starts, so it does not boot into 403s.
  dependsOn: [
    dataRoles
    hostRoles
  ]
}

output functionAppName string = functionApp.outputs.name
output functionAppHostName string = functionApp.outputs.defaultHostName
output storageAccountName string = dataStorage.outputs.name
output hostStorageAccountName string = hostStorage.outputs.name
output keyVaultName string = keyVault.outputs.name
output identityClientId string = identity.properties.clientId
