CREATE TABLE "calls" (
	"id" uuid PRIMARY KEY NOT NULL,
	"portal_id" uuid NOT NULL,
	"bitrix_user_id" integer NOT NULL,
	"sip_call_id" text NOT NULL,
	"direction" text NOT NULL,
	"phone_number" text NOT NULL,
	"bitrix_call_id" text,
	"origin" text DEFAULT 'phone' NOT NULL,
	"started_at" timestamp with time zone NOT NULL,
	"answered_at" timestamp with time zone,
	"ended_at" timestamp with time zone,
	"duration_sec" integer,
	"sip_status" integer,
	"sync_state" text DEFAULT 'pending' NOT NULL,
	"registered_in_bitrix" boolean DEFAULT false NOT NULL,
	"finished_in_bitrix" boolean DEFAULT false NOT NULL,
	"sync_attempts" integer DEFAULT 0 NOT NULL,
	"next_sync_at" timestamp with time zone DEFAULT now() NOT NULL,
	"last_sync_error" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "install_events" (
	"id" uuid PRIMARY KEY NOT NULL,
	"portal_id" uuid,
	"member_id" text NOT NULL,
	"kind" text NOT NULL,
	"details" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "portals" (
	"id" uuid PRIMARY KEY NOT NULL,
	"member_id" text NOT NULL,
	"domain" text NOT NULL,
	"client_endpoint" text NOT NULL,
	"server_endpoint" text,
	"access_token_enc" text,
	"refresh_token_enc" text,
	"token_expires_at" timestamp with time zone,
	"application_token_hash" text,
	"scope" text,
	"app_kind" text DEFAULT 'marketplace' NOT NULL,
	"client_id" text,
	"client_secret_enc" text,
	"installed_by_user_id" integer,
	"installed" boolean DEFAULT false NOT NULL,
	"external_line" text,
	"settings" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"lang" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	"uninstalled_at" timestamp with time zone,
	CONSTRAINT "portals_member_id_unique" UNIQUE("member_id")
);
--> statement-breakpoint
CREATE TABLE "sip_accounts" (
	"id" uuid PRIMARY KEY NOT NULL,
	"portal_id" uuid NOT NULL,
	"bitrix_user_id" integer NOT NULL,
	"ws_url" text NOT NULL,
	"sip_uri" text NOT NULL,
	"auth_user" text NOT NULL,
	"password_enc" text NOT NULL,
	"display_name" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "calls" ADD CONSTRAINT "calls_portal_id_portals_id_fk" FOREIGN KEY ("portal_id") REFERENCES "public"."portals"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "install_events" ADD CONSTRAINT "install_events_portal_id_portals_id_fk" FOREIGN KEY ("portal_id") REFERENCES "public"."portals"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "sip_accounts" ADD CONSTRAINT "sip_accounts_portal_id_portals_id_fk" FOREIGN KEY ("portal_id") REFERENCES "public"."portals"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "calls_portal_sip_call_uq" ON "calls" USING btree ("portal_id","sip_call_id");--> statement-breakpoint
CREATE INDEX "calls_sync_idx" ON "calls" USING btree ("sync_state","next_sync_at");--> statement-breakpoint
CREATE INDEX "calls_user_idx" ON "calls" USING btree ("portal_id","bitrix_user_id","started_at");--> statement-breakpoint
CREATE INDEX "install_events_portal_idx" ON "install_events" USING btree ("portal_id","created_at");--> statement-breakpoint
CREATE UNIQUE INDEX "sip_accounts_portal_user_uq" ON "sip_accounts" USING btree ("portal_id","bitrix_user_id");