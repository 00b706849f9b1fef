import { IsIn, IsObject, IsOptional, IsString, Length, Matches, registerDecorator, type ValidationArguments } from 'class-validator';
import { STREAM_ID } from '#libs/realtime';

export const SUBSCRIPTION_TOPICS = ['task', 'tasks', 'resource', 'worker', 'table', 'orgs', 'config', 'documents', 'audit'] as const;
export type SubscriptionTopic = (typeof SUBSCRIPTION_TOPICS)[number];

/** A filter value: compared for equality with a column or field. */
export type FilterValue = string | number | boolean | null;

/** Most fields one filter may constrain. */
const MAX_FILTER_FIELDS = 10;
/** Longest string a filter may compare with. */
const MAX_FILTER_TEXT = 500;
/** A column or field name a filter may name: a plain SQL identifier. */
export const FIELD_NAME = /^[a-z_][a-z0-9_]{0,62}$/i;

/** A flat object of at most MAX_FILTER_FIELDS identifier keys to strings, numbers, booleans or null. */
function IsEqualityFilter() {
  return (target: object, propertyName: string) =>
    registerDecorator({
      name: 'isEqualityFilter',
      target: target.constructor,
      propertyName,
      validator: {
        validate(value: unknown) {
          if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
          const entries = Object.entries(value);
          return (
            entries.length <= MAX_FILTER_FIELDS &&
            entries.every(
              ([key, field]) =>
                FIELD_NAME.test(key) &&
                (field === null ||
                  typeof field === 'boolean' ||
                  (typeof field === 'number' && Number.isFinite(field)) ||
                  (typeof field === 'string' && field.length <= MAX_FILTER_TEXT)),
            )
          );
        },
        defaultMessage: (args?: ValidationArguments) =>
          `${args?.property} must map at most ${MAX_FILTER_FIELDS} column names to strings, numbers, booleans or null`,
      },
    });
}

/** The `subscribe` message of the realtime gateway. */
export class SubscribeDto {
  @IsIn(SUBSCRIPTION_TOPICS, { message: `topic must be one of ${SUBSCRIPTION_TOPICS.join(', ')}` })
  topic!: SubscriptionTopic;

  @IsOptional()
  @IsString()
  @Length(1, 200)
  @Matches(/^[\w.:/-]+$/, { message: 'id must be letters, digits, ".", ":", "/", "-" or "_"' })
  id?: string;

  @IsOptional()
  @IsObject()
  @IsEqualityFilter()
  filter?: Record<string, FilterValue>;

  @IsOptional()
  @IsString()
  @Matches(STREAM_ID, { message: 'since must be an event id (<ms>-<seq>)' })
  since?: string;
}

/** The `unsubscribe` message. */
export class UnsubscribeDto {
  @IsString()
  @Length(1, 100)
  subscription!: string;
}
