/** The admin token the fleet's replicas are started with (test only). */
export const FLEET_ADMIN_TOKEN = 'fleet-test-admin-token-0123456789';
