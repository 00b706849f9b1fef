import { IsString, Length } from 'class-validator';

/** `auth.refresh`: a fresh credential (session JWT or the API token itself) for the socket's API token. */
export class RefreshAuthDto {
  @IsString({ message: 'token must be a string' })
  @Length(1, 4096, { message: 'token must be 1 to 4096 characters' })
  token!: string;
}
