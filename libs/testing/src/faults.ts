import { MongoNetworkError, type Db } from 'mongodb';

/** The error the driver gives when its connection to the server drops. */
export function connectionLost(): MongoNetworkError {
  return new MongoNetworkError('test: the connection to the database was lost');
}

/** Stands in for one collection method: gets the real method (bound) and the call's arguments. */
export type Interceptor = (original: (...args: unknown[]) => unknown, args: unknown[]) => unknown;

/**
 * The real database, except that every call of `method` on `collection` goes through `interceptor`.
 * For code that takes a Db and fetches its collections itself, so a fault (or a race) cannot be
 * injected on one collection object.
 */
export function intercepting(db: Db, collection: string, method: string, interceptor: Interceptor): Db {
  const bound = <T extends object>(target: T, prop: string | symbol): unknown => {
    const value = Reflect.get(target, prop, target) as unknown;
    return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
  };
  return new Proxy(db, {
    get(target, prop) {
      if (prop !== 'collection') return bound(target, prop);
      return (name: string) => {
        const coll = target.collection(name);
        if (name !== collection) return coll;
        return new Proxy(coll, {
          get(c, p) {
            if (p !== method) return bound(c, p);
            const original = bound(c, p) as (...args: unknown[]) => unknown;
            return (...args: unknown[]) => interceptor(original, args);
          },
        });
      };
    },
  });
}

/**
 * The real database, except that the first call of `method` on `collection` made while `when()`
 * holds (by default: the first call) fails as if the connection had dropped (connectionLost).
 */
export function failingOnce(db: Db, collection: string, method: string, when: () => boolean = () => true): Db {
  let failed = false;
  return intercepting(db, collection, method, (original, args) => {
    if (failed || !when()) return original(...args);
    failed = true;
    throw connectionLost();
  });
}
