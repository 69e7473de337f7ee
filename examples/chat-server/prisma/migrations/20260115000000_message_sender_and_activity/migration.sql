-- CreateEnum
CREATE TYPE "MessageSender" AS ENUM ('VISITOR', 'AGENT');

-- AlterTable
ALTER TABLE "conversations" ADD COLUMN     "last_message_at" TIMESTAMP(3);

-- AlterTable
ALTER TABLE "messages" ADD COLUMN     "sender" "MessageSender" NOT NULL DEFAULT 'VISITOR';

-- CreateIndex
CREATE INDEX "messages_conversation_id_created_at_idx" ON "messages"("conversation_id", "created_at");


