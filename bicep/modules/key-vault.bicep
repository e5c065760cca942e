// Key Vault (RBAC authorization, no access policies) holding the operator bootstrap key and the key that encrypts
// WeChat app secrets at rest,
// readable by the app identity through Key Vault Secrets User on this vault only.

param name string
param location string
param tags object

@description('Object (principal) id of the identity that reads the secret.')
param readerPrincipalId string

@description('Built-in role GUID of Key Vault Secrets User.')
param vaultReaderRoleId string

@description('Name of the secret holding the operator bootstrap key.')
param bootstrapKeySecretName string

@secure()
@description('Value of the operator bootstrap key.')
param bootstrapKey string

resource vault 'Microsoft.KeyVault/vaults@2024-11-01' = {
  name: name
  location: location
  tags: tags
  properties: {
    tenantId: subscription().tenantId
    sku: {
      family: 'A'
      name: 'standard'
    }
    enableRbacAuthorization: true
    enableSoftDelete: true
    softDeleteRetentionInDays: 90
    // Once on it cannot be turned off: a deleted secret or vault can always be recovered.
    enablePurgeProtection: true
    enabledForDeployment: false
    enabledForDiskEncryption: false
    enabledForTemplateDeployment: false
    publicNetworkAccess: 'Enabled'
  }
}

resource bootstrapKeySecret 'Microsoft.KeyVault/vaults/secrets@2024-11-01' = {
  parent: vault
  name: bootstrapKeySecretName
  properties: {
    value: bootstrapKey
    contentType: 'text/plain'
  }
}

@description('Name of the secret holding the key that encrypts stored WeChat app secrets.')
param encryptionKeySecretName string

@secure()
@description('Base64 of 32 random bytes: encrypts WeChat app tokens, keys and appSecrets before they reach Table Storage.')
param secretsEncryptionKey string

resource encryptionKeySecret 'Microsoft.KeyVault/vaults/secrets@2024-11-01' = {
  parent: vault
  name: encryptionKeySecretName
  properties: {
    value: secretsEncryptionKey
    contentType: 'text/plain'
  }
}

resource secretsUser 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(vault.id, readerPrincipalId, vaultReaderRoleId)
  scope: vault
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', vaultReaderRoleId)
    principalId: readerPrincipalId
    principalType: 'ServicePrincipal'
  }
}

output name string = vault.name
// Versionless URI: the app picks up a rotated secret without a redeploy.
output bootstrapKeySecretUri string = bootstrapKeySecret.properties.secretUri

@description('Versionless URI of the secrets encryption key, for a Key Vault reference.')
output encryptionKeySecretUri string = encryptionKeySecret.properties.secretUri
