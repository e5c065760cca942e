// Grants one principal a set of built-in roles, scoped to a single storage account
// (not the resource group), so the identity reaches only the accounts it needs.

param storageAccountName string

@description('Object (principal) id of the identity receiving the roles.')
param principalId string

@description('Built-in role definition GUIDs.')
param roleDefinitionIds string[]

resource account 'Microsoft.Storage/storageAccounts@2025-01-01' existing = {
  name: storageAccountName
}

resource assignments 'Microsoft.Authorization/roleAssignments@2022-04-01' = [
  for roleId in roleDefinitionIds: {
    // Deterministic name: redeploying is idempotent instead of failing on a duplicate assignment.
    name: guid(account.id, principalId, roleId)
    scope: account
    properties: {
      roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roleId)
      principalId: principalId
      // Stated explicitly so a just-created identity does not fail on Entra replication lag.
      principalType: 'ServicePrincipal'
    }
  }
]
