import { MongoNetworkError, type Db } from 'mongodb';

/** The error the driver gives when its connection to the server drops. */
export function connectionLost(): MongoNetworkError {
  return new MongoNetworkError('test: the connection to the database was lost');
}

/**
 * The real database, except that the first call of `method` on `collection` fails as if the
 * connection had dropped (connectionLost). For code that takes a Db and fetches its collections
 * itself, so a fault cannot be injected on one collection object.
 */
export function failingOnce(db: Db, collection: string, method: string): Db {
  let failed = false;
  return new Proxy(db, {
    get(target, prop) {
      if (prop !== 'collection') {
        const value = Reflect.get(target, prop, target) as unknown;
        return typeof value === 'function' ? value.bind(target) : value;
      }
      return (name: string) => {
        const coll = target.collection(name);
        if (name !== collection) return coll;
        return new Proxy(coll, {
          get(c, p) {
            if (p === method && !failed) {
              return () => {
                failed = true;
                throw connectionLost();
              };
            }
            const value = Reflect.get(c, p, c) as unknown;
            return typeof value === 'function' ? value.bind(c) : value;
          },
        });
      };
    },
  });
}
