// Initiates the three-member replica set rs0 once; compose.yaml's mongo-init runs it with
// mongosh against mongo-1 after all three members answer. Idempotent: a set that exists is
// left as it is, so it runs again harmlessly on every `docker compose up`.
// It exits 0 only once a primary is elected: the services wait for this step, and a
// majority write needs a primary.
const MEMBERS = ["mongo-1:27017", "mongo-2:27017", "mongo-3:27017"];
const WAIT_FOR_PRIMARY_MS = 90 * 1000;

try {
  rs.status();
  print("replica set rs0 already initiated");
} catch (error) {
  if (error.codeName !== "NotYetInitialized") {
    throw error;
  }
  rs.initiate({ _id: "rs0", members: MEMBERS.map((host, index) => ({ _id: index, host })) });
  print(`replica set rs0 initiated with ${MEMBERS.join(", ")}`);
}

// Any member's hello() names the primary once there is one.
const deadline = Date.now() + WAIT_FOR_PRIMARY_MS;
while (!db.hello().primary) {
  if (Date.now() > deadline) {
    print(`no primary elected within ${WAIT_FOR_PRIMARY_MS / 1000} s`);
    quit(1);
  }
  sleep(1000);
}
print(`primary: ${db.hello().primary}`);
